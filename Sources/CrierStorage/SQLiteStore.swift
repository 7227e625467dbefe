import CrierCore
import Foundation
import GRDB

/// The embedded back end: one SQLite file in WAL mode (or memory, for tests).
public final class SQLiteStore: Store {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database file at `path`.
    public static func open(path: String) throws -> SQLiteStore {
        SQLiteStore(writer: try DatabasePool(path: path, configuration: configuration))
    }

    /// A private in-memory database, gone when the store is released.
    public static func inMemory() throws -> SQLiteStore {
        SQLiteStore(writer: try DatabaseQueue(configuration: configuration))
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

    init(writer: any DatabaseWriter) { self.writer = writer }

    public func migrate() async throws {
        try await writer.write { _ in }  // opens the file before the migrator looks at it
        try SQLiteMigrations.migrator.migrate(writer)
    }

    public func ping() async throws {
        _ = try await writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// A write transaction that takes the write lock at once, so a read-then-write never races
    /// another process's writer.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
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

    public func createUser(email: String, name: String?, passwordHash: String, isAdmin: Bool, at: Date) async throws -> User {
        try await transaction { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM users WHERE email = ?", arguments: [email]) != nil {
                throw DomainError.emailTaken
            }
            try db.execute(
                sql: "INSERT INTO users (email, name, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [email, name, passwordHash, isAdmin, at.millis])
            return User(id: db.lastInsertedRowID, email: email, name: name, isAdmin: isAdmin, createdAt: at.wholeMillis)
        }
    }

    public func user(email: String) async throws -> User? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE email = ?", arguments: [email]).map(User.init(row:))
        }
    }

    public func userCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 }
    }

    public func addAPIToken(userId: Int64, label: String?, tokenHash: String, at: Date) async throws {
        try await transaction { db in
            try db.execute(
                sql: "INSERT INTO api_tokens (user_id, label, token_hash, created_at) VALUES (?, ?, ?, ?)",
                arguments: [userId, label, tokenHash, at.millis])
        }
    }

    public func user(apiTokenHash: String) async throws -> User? {
        try await writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT u.* FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
                arguments: [apiTokenHash]
            ).map(User.init(row:))
        }
    }

    // MARK: WhatsApp sessions

    public func registerSession(name: String, ownerId: Int64, at: Date) async throws -> (session: WhatsAppSession, created: Bool) {
        try await transaction { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM whatsapp_sessions WHERE name = ?", arguments: [name]) {
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

    public func sessions(ownerId: Int64) async throws -> [WhatsAppSession] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM whatsapp_sessions WHERE owner_id = ? ORDER BY id", arguments: [ownerId])
                .map(WhatsAppSession.init(row:))
        }
    }

    public func session(idOrName: String, ownerId: Int64) async throws -> WhatsAppSession? {
        try await writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT * FROM whatsapp_sessions WHERE owner_id = ? AND (public_id = ? OR name = ?)
                    ORDER BY public_id = ? DESC LIMIT 1
                    """,
                arguments: [ownerId, idOrName, idOrName, idOrName]
            ).map(WhatsAppSession.init(row:))
        }
    }
}

/// A new random public id (lower-case UUID).
func newPublicId() -> String { UUID().uuidString.lowercased() }

extension Date {
    /// Milliseconds since 1970, the storage form of every instant.
    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    /// This instant as storage will give it back.
    var wholeMillis: Date { Date(millis: millis) }
    init(millis: Int64) { self.init(timeIntervalSince1970: TimeInterval(millis) / 1000) }
}

extension User {
    init(row: Row) {
        self.init(
            id: row["id"], email: row["email"], name: row["name"], isAdmin: row["is_admin"],
            createdAt: Date(millis: row["created_at"]))
    }
}

extension WhatsAppSession {
    init(row: Row) {
        self.init(id: row["public_id"], name: row["name"], ownerId: row["owner_id"], createdAt: Date(millis: row["created_at"]))
    }
}
