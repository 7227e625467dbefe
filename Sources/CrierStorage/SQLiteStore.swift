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

    // The point reads' statements, built once.
    private static let userByAPIToken = """
        SELECT \(User.qualifiedColumns), t.id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = ? AND u.access = 'active'
        """
    private static let userByWebSession = """
        SELECT \(User.qualifiedColumns) FROM web_sessions w JOIN users u ON u.id = w.user_id
        WHERE w.token_hash = ? AND w.expires_at > ? AND u.access = 'active'
        """
    private static let sessionByIdOrName =
        "SELECT \(WhatsAppSession.columns) FROM whatsapp_sessions WHERE \(WhatsAppSession.ownersByIdOrName)"

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
            return result!
        }
    }

    // MARK: Accounts

    public func createUser(
        email: String, name: String?, passwordHash: String, isAdmin: Bool, access: UserAccess, at: Date
    ) async throws -> User {
        try await transaction { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM users WHERE email = ?", arguments: [email]) != nil {
                throw DomainError.emailTaken
            }
            let publicId = newPublicId()
            try db.execute(
                sql: """
                    INSERT INTO users (public_id, email, name, password_hash, is_admin, access, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [publicId, email, name, passwordHash, isAdmin, access.rawValue, at.millis])
            return User(
                id: db.lastInsertedRowID, publicId: publicId, email: email, name: name, isAdmin: isAdmin,
                createdAt: at.wholeMillis, access: access)
        }
    }

    public func user(email: String) async throws -> User? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT \(User.columns) FROM users WHERE email = ?", arguments: [email]).map(User.init(row:))
        }
    }

    public func user(publicId: String) async throws -> User? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT \(User.columns) FROM users WHERE public_id = ?", arguments: [publicId]).map(User.init(row:))
        }
    }

    public func passwordHash(userId: Int64) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(db, sql: "SELECT password_hash FROM users WHERE id = ?", arguments: [userId])
        }
    }

    public func setAccess(_ access: UserAccess, userId: Int64) async throws -> Bool {
        try await transaction { db in
            try db.execute(sql: "UPDATE users SET access = ? WHERE id = ?", arguments: [access.rawValue, userId])
            let found = db.changesCount > 0
            if access != .active {
                try db.execute(sql: "DELETE FROM web_sessions WHERE user_id = ?", arguments: [userId])
            }
            return found
        }
    }

    public func deleteUser(userId: Int64) async throws {
        try await transaction { db in
            let campaigns = "SELECT id FROM campaigns WHERE owner_id = ?"
            try db.execute(
                sql: """
                    DELETE FROM message_attempts WHERE message_id IN
                        (SELECT id FROM messages WHERE campaign_id IN (\(campaigns)));
                    DELETE FROM messages WHERE campaign_id IN (\(campaigns));
                    DELETE FROM campaigns WHERE owner_id = ?;
                    DELETE FROM whatsapp_sessions WHERE owner_id = ?;
                    DELETE FROM users WHERE id = ?;
                    """,
                arguments: [userId, userId, userId, userId, userId])
        }
    }

    public func userCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 }
    }

    public func users() async throws -> [User] {
        try await writer.read { db in try Row.fetchAll(db, sql: "SELECT \(User.columns) FROM users ORDER BY id").map(User.init(row:)) }
    }

    public func addAPIToken(userId: Int64, label: String?, tokenHash: String, at: Date) async throws -> String {
        let publicId = String(newPublicId().replacingOccurrences(of: "-", with: "").prefix(16))
        try await transaction { db in
            try db.execute(
                sql: "INSERT INTO api_tokens (public_id, user_id, label, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [publicId, userId, label, tokenHash, at.millis])
        }
        return publicId
    }

    public func user(apiTokenHash: String, at: Date) async throws -> User? {
        let found = try pointRead { db in
            try Self.firstRow(db.cachedStatement(sql: Self.userByAPIToken), arguments: [apiTokenHash]) { row in
                (User(row: row), row[User.columnCount] as Int64, row[User.columnCount + 1] as Int64?)
            }
        }
        guard let (user, tokenRow, lastUsed) = found else { return nil }
        // Noted at most once a minute, so authentication stays a read.
        if (lastUsed ?? .min) < at.millis - 60_000 {
            try await writer.write { db in
                try db.execute(sql: "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", arguments: [at.millis, tokenRow])
            }
        }
        return user
    }

    public func apiTokens(userId: Int64) async throws -> [APITokenInfo] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_tokens WHERE user_id = ? ORDER BY id", arguments: [userId]).map {
                APITokenInfo(
                    id: $0["public_id"], label: $0["label"], createdAt: Date(millis: $0["created_at"]),
                    lastUsedAt: ($0["last_used_at"] as Int64?).map(Date.init(millis:)))
            }
        }
    }

    public func revokeAPIToken(id: String, userId: Int64) async throws -> Bool {
        try await transaction { db in
            try db.execute(sql: "DELETE FROM api_tokens WHERE public_id = ? AND user_id = ?", arguments: [id, userId])
            return db.changesCount > 0
        }
    }

    public func createWebSession(userId: Int64, tokenHash: String, expiresAt: Date, at: Date) async throws {
        try await transaction { db in
            // Expired sign-ins go as new ones arrive, so the table stays the size of the live ones.
            try db.execute(sql: "DELETE FROM web_sessions WHERE expires_at <= ?", arguments: [at.millis])
            try db.execute(
                sql: "INSERT INTO web_sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [tokenHash, userId, at.millis, expiresAt.millis])
        }
    }

    public func user(webSessionHash: String, at: Date) async throws -> User? {
        try pointRead { db in
            try Self.firstRow(db.cachedStatement(sql: Self.userByWebSession), arguments: [webSessionHash, at.millis], User.init(row:))
        }
    }

    public func deleteWebSession(tokenHash: String) async throws {
        try await transaction { db in
            try db.execute(sql: "DELETE FROM web_sessions WHERE token_hash = ?", arguments: [tokenHash])
        }
    }

    public func setPasswordHash(userId: Int64, passwordHash: String, keeping: String?) async throws {
        try await transaction { db in
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [passwordHash, userId])
            try db.execute(
                sql: "DELETE FROM web_sessions WHERE user_id = ? AND token_hash IS NOT ?", arguments: [userId, keeping])
        }
    }

    public func createPasswordReset(userId: Int64, tokenHash: String, expiresAt: Date, at: Date) async throws {
        try await transaction { db in
            try db.execute(sql: "DELETE FROM password_resets WHERE expires_at <= ? OR user_id = ?", arguments: [at.millis, userId])
            try db.execute(
                sql: "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [tokenHash, userId, at.millis, expiresAt.millis])
        }
    }

    public func consumePasswordReset(tokenHash: String, at: Date) async throws -> Int64? {
        try await transaction { db in
            try Int64.fetchOne(
                db, sql: "DELETE FROM password_resets WHERE token_hash = ? AND expires_at > ? RETURNING user_id",
                arguments: [tokenHash, at.millis])
        }
    }

    // MARK: WhatsApp sessions

    public func registerSession(name: String, ownerId: Int64, at: Date) async throws -> (session: WhatsAppSession, created: Bool) {
        try await transaction { db in
            if let row = try Row.fetchOne(db, sql: "SELECT \(WhatsAppSession.columns) FROM whatsapp_sessions WHERE name = ?", arguments: [name]) {
                let existing = WhatsAppSession(row: row)
                guard existing.ownerId == ownerId else { throw DomainError.sessionNameTaken }
                return (existing, false)
            }
            let session = WhatsAppSession(id: newPublicId(), name: name, ownerId: ownerId, createdAt: at.wholeMillis)
            try db.execute(
                sql: "INSERT INTO whatsapp_sessions (public_id, owner_id, name, created_at) VALUES (?, ?, ?, ?)",
                arguments: [session.id, ownerId, name, at.millis])
            return (session, true)
        }
    }

    public func sessionOwner(name: String) async throws -> Int64? {
        try await writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT owner_id FROM whatsapp_sessions WHERE name = ?", arguments: [name])
        }
    }

    public func sessions(ownerId: Int64) async throws -> [WhatsAppSession] {
        try await writer.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT \(WhatsAppSession.columns) FROM whatsapp_sessions WHERE owner_id = ? ORDER BY id"), arguments: [ownerId])
                .map(WhatsAppSession.init(row:))
        }
    }

    public func sessionStatuses(ownerId: Int64) async throws -> [String: String] {
        try await writer.read { db in
            var statuses: [String: String] = [:]
            for row in try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT public_id, gateway_status FROM whatsapp_sessions WHERE owner_id = ? AND gateway_status IS NOT NULL"),
                arguments: [ownerId])
            {
                statuses[row[0]] = row[1]
            }
            return statuses
        }
    }

    public func session(idOrName: String, ownerId: Int64) async throws -> WhatsAppSession? {
        try pointRead { db in
            try Self.firstRow(
                db.cachedStatement(sql: Self.sessionByIdOrName), arguments: [ownerId, idOrName, idOrName, idOrName],
                WhatsAppSession.init(row:))
        }
    }
}

/// A new random public id (lower-case UUID).
func newPublicId() -> String { RandomPublicId.uuid() }

// Rows are read by position, from the columns listed here: by name, GRDB compares each name with
// every column's, without regard to case, and `SELECT *` copied columns nobody read (the password
// hash at every API request).
extension User {
    private static let columnNames = ["id", "public_id", "email", "name", "is_admin", "created_at", "access"]
    /// The columns `init(row:)` reads, in its order; `qualifiedColumns` the same of table alias `u`.
    static let columns = columnNames.joined(separator: ", ")
    static let qualifiedColumns = columnNames.map { "u." + $0 }.joined(separator: ", ")
    static let columnCount = columnNames.count

    init(row: Row) {
        self.init(
            id: row[0], publicId: row[1], email: row[2], name: row[3], isAdmin: row[4], createdAt: Date(millis: row[5]),
            access: UserAccess(rawValue: row[6]) ?? .revoked)
    }
}

extension WhatsAppSession {
    /// The columns `init(row:)` reads, in its order.
    static let columns = "public_id, name, owner_id, created_at"
    /// A condition with four parameters (the owner's row id, then the id or name three times): the
    /// owner's session with that public id or, failing that, that gateway name.
    static let ownersByIdOrName = "owner_id = ? AND (public_id = ? OR name = ?) ORDER BY public_id = ? DESC LIMIT 1"

    init(row: Row) {
        self.init(id: row[0], name: row[1], ownerId: row[2], createdAt: Date(millis: row[3]))
    }
}
