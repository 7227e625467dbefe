import CrierCore
import CrierStorage
import Foundation
import Logging
import PostgresNIO

/// The scale-out back end: one PostgreSQL database shared by any number of Crier processes.
///
/// Every operation keeps the `Store` contract the SQLite store keeps; where SQLite serialises
/// writers with one lock, this store relies on row locks, `SKIP LOCKED` claims, unique indexes and
/// single-statement updates, so concurrent instances never double-claim or double-record.
public final class PostgresStore: Store {
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>
    public let changes: any ChangeFeed
    let url: PostgresURL
    /// What each user may keep; creates and edits beyond it are refused in their transaction.
    let quota: UserQuota
    /// Where it connects, without the password (error messages).
    var address: String { url.redacted }

    /// Connects lazily: the pool opens connections when the first query needs one. The pool's own
    /// logging is kept to errors: a failure reaches the caller as a thrown error instead.
    public init(url: PostgresURL, quota: UserQuota = .unlimited, logger: Logger = Logger(label: "crier.postgres")) throws {
        var poolLogger = logger
        poolLogger.logLevel = .error
        let client = PostgresClient(configuration: try url.clientConfiguration(), backgroundLogger: poolLogger)
        self.client = client
        self.logger = logger
        self.url = url
        self.quota = quota
        changes = PostgresChangeFeed(client: client, logger: logger)
        runner = Task { await client.run() }
    }

    public static func open(url: String, quota: UserQuota = .unlimited) throws -> PostgresStore {
        try PostgresStore(url: PostgresURL(url), quota: quota)
    }

    /// Closes the pool's connections.
    public func close() { runner.cancel() }

    deinit { runner.cancel() }

    /// Checks that the server answers (one clear error within seconds when it does not), then
    /// applies pending migrations.
    public func migrate() async throws {
        try await checkReachable()
        _ = try await PostgresMigrations.migrate(client, logger: logger)
    }

    /// One direct connection first: a refused connection, an unknown role or database fails at
    /// once with the server's reason, instead of the pool's minute of silent retries.
    func checkReachable() async throws {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try url.connectionConfiguration(), id: 0, logger: logger)
            try await connection.close()
        } catch let error as PSQLError {
            throw PostgresUnavailable(address: address, reason: error.plainReason)
        }
    }

    public func ping() async throws {
        try await query("UPDATE health_probe SET checked_at = checked_at + 1 WHERE id = 1", logger: logger)
    }

    /// The errors that say PostgreSQL itself is failing, not the request: no connection, or the
    /// server's classes 08 (connection), 53 (out of disk, memory or connections), 57 (shut down,
    /// starting), 58 (system I/O), XX (internal, damaged data) and 25006 (a read-only server).
    public func unavailability(of error: any Error) -> StoreUnavailable? {
        if let unavailable = error as? StoreUnavailable { return unavailable }
        if let error = error as? PostgresUnavailable { return StoreUnavailable("PostgreSQL is unreachable: \(error.reason)") }
        guard let error = error as? PSQLError else { return nil }
        guard let state = error.serverInfo?[.sqlState] else {
            let noConnection: [PSQLError.Code] = [
                .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
                .sslUnsupported, .failedToAddSSLHandler,
            ]
            return noConnection.contains(error.code) ? StoreUnavailable("PostgreSQL is unreachable: \(error.plainReason)") : nil
        }
        if state == "53100" { return StoreUnavailable("PostgreSQL's disk is full") }
        if state == "25006" { return StoreUnavailable("PostgreSQL is read-only") }
        if ["08", "53", "57", "58", "XX"].contains(String(state.prefix(2))) {
            return StoreUnavailable("PostgreSQL is failing: \(error.plainReason)")
        }
        return nil
    }

    /// A transaction on one pooled connection; the body's own error (a domain error) comes out as
    /// itself, rolled back.
    func transaction<T: Sendable>(
        deadline: Bool = true, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await bounded(deadline) { [client, logger] in
            do {
                return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
            } catch let error as PostgresTransactionError {
                if let closureError = error.closureError { throw closureError }
                throw error
            }
        }
    }

    /// Every row of one statement run outside a transaction.
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger, deadline: Bool = true) async throws -> [PostgresRow] {
        try await bounded(deadline) { [client] in try await client.query(query, logger: logger).collect() }
    }

    /// Every row of one prepared statement.
    func execute<Statement: PostgresPreparedStatement>(
        _ statement: Statement, deadline: Bool = true
    ) async throws -> [Statement.Row] where Statement.Row: Sendable {
        try await bounded(deadline) { [client, logger] in
            var rows: [Statement.Row] = []
            for try await row in try await client.execute(statement, logger: logger) { rows.append(row) }
            return rows
        }
    }

    /// How long one operation may take, a pooled connection included, before it fails as the
    /// database being unavailable: with the server gone, the pool would keep a request waiting for
    /// a connection for as long as the server stays away.
    static let operationDeadline: Duration = .seconds(10)

    /// Runs `operation`, cancelled (the pool gives up waiting for a connection, a query is cancelled
    /// at the server) after `operationDeadline`. Without `deadline`, it simply runs: the dispatcher
    /// waits for PostgreSQL to come back rather than give up on recording what it sent (and a task
    /// group per claim and outcome cost the burst a sixth of its server CPU).
    func bounded<T: Sendable>(_ deadline: Bool = true, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        guard deadline else { return try await operation() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: Self.operationDeadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw StoreUnavailable("PostgreSQL did not answer within \(Self.operationDeadline)")
            }
            return value
        }
    }

    /// Runs `body` again, up to three times in all, when PostgreSQL aborted it to break a deadlock or a
    /// serialization conflict (SQLSTATE 40P01, 40001). Crier's multi-row writes lock their rows in id
    /// order, so they cannot deadlock one another; an operator's own statement still can.
    func retryingConflicts<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as PSQLError where attempt < 3 && ["40P01", "40001"].contains(error.serverInfo?[.sqlState]) {
                attempt += 1
                try await Task.sleep(for: .milliseconds(10 * attempt))
            }
        }
    }

    /// Every row of a query run outside a transaction.
    func rows(_ query: PostgresQuery, deadline: Bool = true) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: logger, deadline: deadline).map { $0.makeRandomAccess() }
    }
}

/// The database cannot be reached: said in one line, with where and why.
public struct PostgresUnavailable: Error, CustomStringConvertible {
    public let address: String
    public let reason: String
    public var description: String { "PostgreSQL at \(address) is unreachable: \(reason)" }
}

extension PSQLError {
    /// The server's message, or the connection failure, without the query and its bindings.
    var plainReason: String {
        if let message = serverInfo?[.message] { return message }
        if let underlying {
            let text = "\(underlying)"
            return text.contains("Connection refused") ? "connection refused (is PostgreSQL running there?)" : text
        }
        return "\(code)"
    }
}

extension PostgresConnection {
    /// Every row of a query in this connection's transaction.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }
}
