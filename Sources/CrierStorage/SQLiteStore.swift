import CrierCore
import Foundation
import GRDB

/// The embedded back end: one SQLite file in WAL mode (or memory, for tests).
public final class SQLiteStore: Store {
    let writer: any DatabaseWriter
    /// The connection `pointRead` uses; see there.
    private let pointReader: any DatabaseReader
    public let changes: any ChangeFeed = LocalChangeFeed()
    /// Campaigns created by concurrent requests, stored many to a transaction, each in a savepoint
    /// of its own so that one refused create does not undo the others.
    let creations: GroupCommit<CampaignCreation, [String]>
    /// Crier's locks beside the file (`DatabaseLockFile`); none for a database in memory.
    private let lockFile: DatabaseLockFile?
    /// What each user may keep; creates and edits beyond it are refused in their transaction.
    let quota: UserQuota

    /// Opens (creating if needed) the database file at `path`. A new file is readable by its owner
    /// only (0600): it holds password and token hashes. SQLite gives its WAL and shared-memory files
    /// the database file's permissions.
    ///
    /// The store marks the file in use (`DatabaseLockFile`) for as long as it lives; it refuses to
    /// open while `crier restore` replaces the file.
    public static func open(path: String, quota: UserQuota = .unlimited) throws -> SQLiteStore {
        let lockFile = try DatabaseLockFile(databasePath: path)
        do {
            try lockFile.lock(.inUse, exclusive: false, wait: false)
        } catch is DatabaseLockFile.Busy {
            throw DatabaseLockError("A restore is replacing \(path); try again when it has finished")
        }
        if !FileManager.default.fileExists(atPath: path) {
            // Nothing has this file open yet (it does not exist), so creating it disturbs no lock.
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        var readOnly = configuration
        readOnly.readonly = true
        return SQLiteStore(
            writer: pool, pointReader: try DatabaseQueue(path: path, configuration: readOnly), lockFile: lockFile,
            quota: quota)
    }

    /// A private in-memory database, gone when the store is released.
    public static func inMemory(quota: UserQuota = .unlimited) throws -> SQLiteStore {
        let queue = try DatabaseQueue(configuration: configuration)
        return SQLiteStore(writer: queue, pointReader: queue, lockFile: nil, quota: quota)
    }

    private static var configuration: Configuration {
        var configuration = Configuration()
        // Another process (the CLI beside a running server) may hold the write lock briefly.
        configuration.busyMode = .timeout(10)
        // In WAL mode NORMAL loses no committed transaction when the process dies (only on power loss),
        // and spares an fsync per commit.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        return configuration
    }

    init(writer: any DatabaseWriter, pointReader: any DatabaseReader, lockFile: DatabaseLockFile?, quota: UserQuota) {
        self.writer = writer
        self.pointReader = pointReader
        self.lockFile = lockFile
        self.quota = quota
        creations = GroupCommit { [writer] batch in
            if batch.count == 1, let only = batch.first {  // alone: no savepoint (SQLite journals its pages)
                do {
                    return [.success(try await Self.transaction(writer) { db in try Self.insertCampaigns(only, quota: quota, db: db) })]
                } catch {
                    return [.failure(error)]
                }
            }
            return try await Self.transaction(writer) { db in
                batch.map { creation in
                    Result {
                        var ids: [String] = []
                        try db.inSavepoint {
                            ids = try Self.insertCampaigns(creation, quota: quota, db: db)
                            return .commit
                        }
                        return ids
                    }
                }
            }
        }
    }

    /// Processes sharing the file (`crier migrate` beside a starting server) take turns: the migrator
    /// reads what is applied and then applies the rest, which two processes must not interleave.
    public func migrate() async throws {
        try await writer.write { _ in }  // opens the file before the migrator looks at it
        guard let lockFile else { return try SQLiteMigrations.migrator.migrate(writer) }
        try lockFile.withExclusive(.migrating) { try SQLiteMigrations.migrator.migrate(writer) }
    }

    /// A single-statement read of a row or two by index, run on the calling thread: an async read
    /// hops to a reader's queue and back, two thread wake-ups that cost more than the lookup itself.
    /// Only for reads that take microseconds, since the caller's thread (one of Swift's few
    /// cooperative threads) waits for them.
    ///
    /// A file database reads through a connection of its own, never from the pool of readers:
    /// an async read holds its pooled reader until its task runs again on a cooperative thread, so
    /// cooperative threads waiting for a pooled reader could wait forever (they did, under wrk). The
    /// point reader is held only by code that never suspends, and WAL readers never wait for the
    /// writer. One statement is consistent on its own, so no transaction is opened around it.
    func pointRead<T>(_ body: (Database) throws -> T) throws -> T {
        try pointReader.unsafeRead(body)
    }

    /// The first row `statement` yields, decoded where it lies (`Row.fetchOne` copies every column
    /// out first). The cursor resets the statement when it goes, which ends the read.
    static func firstRow<T>(_ statement: Statement, arguments: StatementArguments, _ decode: (Row) throws -> T) throws -> T? {
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        return try withExtendedLifetime(rows) { try rows.next().map(decode) }
    }

    public func ping() async throws {
        try await transaction { db in
            try db.execute(sql: "UPDATE health_probe SET checked_at = checked_at + 1 WHERE id = 1")
        }
    }

    /// A write transaction that takes the write lock at once, so a read-then-write never races
    /// another process's writer.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.transaction(writer, body)
    }

    static func transaction<T: Sendable>(
        _ writer: any DatabaseWriter, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await writer.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            guard let result else { throw DatabaseError(message: "the transaction's body gave no value") }
            return result
        }
    }
}
