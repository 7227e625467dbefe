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

    // MARK: Accounts

    public func createUser(
        email: String, name: String?, passwordHash: String, isAdmin: Bool, access: UserAccess, at: Date
    ) async throws -> User {
        let publicId = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        do {
            let rows = try await rows(
                """
                INSERT INTO users (public_id, email, name, password_hash, is_admin, access, created_at)
                VALUES (\(publicId), \(email), \(name), \(passwordHash), \(isAdmin), \(access.rawValue), \(at.millis))
                RETURNING *
                """)
            guard let row = rows.first else { throw DomainError.emailTaken }
            return try User(row)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw DomainError.emailTaken
        }
    }

    public func user(email: String) async throws -> User? {
        try await rows("SELECT * FROM users WHERE lower(email) = lower(\(email))").first.map(User.init)
    }

    public func user(publicId: String) async throws -> User? {
        try await rows("SELECT * FROM users WHERE public_id = \(publicId)").first.map(User.init)
    }

    public func passwordHash(userId: Int64) async throws -> String? {
        try await rows("SELECT password_hash FROM users WHERE id = \(userId)").first?["password_hash"].decode(String.self)
    }

    public func setAccess(_ access: UserAccess, userId: Int64) async throws -> Bool {
        try await transaction { [self] connection in
            let found = try await connection.rows(
                "UPDATE users SET access = \(access.rawValue) WHERE id = \(userId) RETURNING id", logger: logger)
            if access != .active {
                try await connection.query("DELETE FROM web_sessions WHERE user_id = \(userId)", logger: logger)
            }
            return !found.isEmpty
        }
    }

    public func deleteUser(userId: Int64) async throws {
        try await transaction { [self] connection in
            try await connection.query(
                """
                DELETE FROM message_attempts WHERE message_id IN
                    (SELECT m.id FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE c.owner_id = \(userId))
                """, logger: logger)
            try await connection.query(
                "DELETE FROM messages WHERE campaign_id IN (SELECT id FROM campaigns WHERE owner_id = \(userId))",
                logger: logger)
            try await connection.query("DELETE FROM campaigns WHERE owner_id = \(userId)", logger: logger)
            try await connection.query("DELETE FROM whatsapp_sessions WHERE owner_id = \(userId)", logger: logger)
            try await connection.query("DELETE FROM users WHERE id = \(userId)", logger: logger)
        }
    }

    public func userCount() async throws -> Int {
        try await rows("SELECT COUNT(*) AS n FROM users").first?["n"].decode(Int.self) ?? 0
    }

    public func users() async throws -> [User] {
        try await rows("SELECT * FROM users ORDER BY id").map(User.init)
    }

    public func addAPIToken(userId: Int64, label: String?, tokenHash: String, at: Date) async throws -> String {
        let publicId = String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))
        try await query(
            """
            INSERT INTO api_tokens (public_id, user_id, label, token_hash, created_at)
            VALUES (\(publicId), \(userId), \(label), \(tokenHash), \(at.millis))
            """, logger: logger)
        return publicId
    }

    public func user(apiTokenHash: String, at: Date) async throws -> User? {
        let rows = try await rows(
            """
            SELECT u.*, t.id AS token_row, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = \(apiTokenHash) AND u.access = 'active'
            """)
        guard let row = rows.first else { return nil }
        let lastUsed = try row["last_used_at"].decode(Int64?.self)
        // Noted at most once a minute, so authentication stays a read.
        if (lastUsed ?? .min) < at.millis - 60_000 {
            let tokenRow = try row["token_row"].decode(Int64.self)
            try await query(
                "UPDATE api_tokens SET last_used_at = \(at.millis) WHERE id = \(tokenRow)", logger: logger)
        }
        return try User(row)
    }

    public func apiTokens(userId: Int64) async throws -> [APITokenInfo] {
        try await rows("SELECT * FROM api_tokens WHERE user_id = \(userId) ORDER BY id").map { row in
            APITokenInfo(
                id: try row["public_id"].decode(String.self), label: try row["label"].decode(String?.self),
                createdAt: Date(millis: try row["created_at"].decode(Int64.self)),
                lastUsedAt: try row["last_used_at"].decode(Int64?.self).map(Date.init(millis:)))
        }
    }

    public func revokeAPIToken(id: String, userId: Int64) async throws -> Bool {
        !(try await rows("DELETE FROM api_tokens WHERE public_id = \(id) AND user_id = \(userId) RETURNING id").isEmpty)
    }

    public func createWebSession(userId: Int64, tokenHash: String, expiresAt: Date, at: Date) async throws {
        try await transaction { [self] connection in
            try await connection.query("DELETE FROM web_sessions WHERE expires_at <= \(at.millis)", logger: logger)
            try await connection.query(
                """
                INSERT INTO web_sessions (token_hash, user_id, created_at, expires_at)
                VALUES (\(tokenHash), \(userId), \(at.millis), \(expiresAt.millis))
                """, logger: logger)
        }
    }

    public func user(webSessionHash: String, at: Date) async throws -> User? {
        try await rows(
            """
            SELECT u.* FROM web_sessions w JOIN users u ON u.id = w.user_id
            WHERE w.token_hash = \(webSessionHash) AND w.expires_at > \(at.millis) AND u.access = 'active'
            """
        ).first.map(User.init)
    }

    public func deleteWebSession(tokenHash: String) async throws {
        try await query("DELETE FROM web_sessions WHERE token_hash = \(tokenHash)", logger: logger)
    }

    public func setPasswordHash(userId: Int64, passwordHash: String, keeping: String?) async throws {
        try await transaction { [self] connection in
            try await connection.query("UPDATE users SET password_hash = \(passwordHash) WHERE id = \(userId)", logger: logger)
            try await connection.query(
                "DELETE FROM web_sessions WHERE user_id = \(userId) AND token_hash IS DISTINCT FROM \(keeping)", logger: logger)
        }
    }

    public func createPasswordReset(userId: Int64, tokenHash: String, expiresAt: Date, at: Date) async throws {
        try await transaction { [self] connection in
            try await connection.query(
                "DELETE FROM password_resets WHERE expires_at <= \(at.millis) OR user_id = \(userId)", logger: logger)
            try await connection.query(
                """
                INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
                VALUES (\(tokenHash), \(userId), \(at.millis), \(expiresAt.millis))
                """, logger: logger)
        }
    }

    public func consumePasswordReset(tokenHash: String, at: Date) async throws -> Int64? {
        try await query(
            "DELETE FROM password_resets WHERE token_hash = \(tokenHash) AND expires_at > \(at.millis) RETURNING user_id",
            logger: logger
        ).first?.decode(Int64.self)
    }

    // MARK: WhatsApp sessions

    public func registerSession(name: String, ownerId: Int64, at: Date) async throws -> (session: WhatsAppSession, created: Bool) {
        let publicId = RandomPublicId.uuid()
        let inserted = try await rows(
            """
            INSERT INTO whatsapp_sessions (public_id, owner_id, name, created_at)
            VALUES (\(publicId), \(ownerId), \(name), \(at.millis))
            ON CONFLICT (name) DO NOTHING RETURNING *
            """)
        if let row = inserted.first { return (try WhatsAppSession(row), true) }
        guard let row = try await rows("SELECT * FROM whatsapp_sessions WHERE name = \(name)").first else {
            throw DomainError.sessionNameTaken
        }
        let existing = try WhatsAppSession(row)
        guard existing.ownerId == ownerId else { throw DomainError.sessionNameTaken }
        return (existing, false)
    }

    public func sessionOwner(name: String) async throws -> Int64? {
        try await rows("SELECT owner_id FROM whatsapp_sessions WHERE name = \(name)").first?["owner_id"].decode(Int64.self)
    }

    public func sessions(ownerId: Int64) async throws -> [WhatsAppSession] {
        try await rows("SELECT * FROM whatsapp_sessions WHERE owner_id = \(ownerId) ORDER BY id").map(WhatsAppSession.init)
    }

    public func sessionStatuses(ownerId: Int64) async throws -> [String: String] {
        var statuses: [String: String] = [:]
        for row in try await rows(
            "SELECT public_id, gateway_status FROM whatsapp_sessions WHERE owner_id = \(ownerId) AND gateway_status IS NOT NULL")
        {
            statuses[try row["public_id"].decode(String.self)] = try row["gateway_status"].decode(String.self)
        }
        return statuses
    }

    public func session(idOrName: String, ownerId: Int64) async throws -> WhatsAppSession? {
        try await rows(
            """
            SELECT * FROM whatsapp_sessions WHERE owner_id = \(ownerId) AND (public_id = \(idOrName) OR name = \(idOrName))
            ORDER BY (public_id = \(idOrName)) DESC LIMIT 1
            """
        ).first.map(WhatsAppSession.init)
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

extension User {
    init(_ row: PostgresRandomAccessRow) throws {
        self.init(
            id: try row["id"].decode(Int64.self), publicId: try row["public_id"].decode(String.self),
            email: try row["email"].decode(String.self), name: try row["name"].decode(String?.self),
            isAdmin: try row["is_admin"].decode(Bool.self),
            createdAt: Date(millis: try row["created_at"].decode(Int64.self)),
            access: UserAccess(rawValue: try row["access"].decode(String.self)) ?? .revoked)
    }
}

extension WhatsAppSession {
    init(_ row: PostgresRandomAccessRow) throws {
        self.init(
            id: try row["public_id"].decode(String.self), name: try row["name"].decode(String.self),
            ownerId: try row["owner_id"].decode(Int64.self),
            createdAt: Date(millis: try row["created_at"].decode(Int64.self)))
    }
}
