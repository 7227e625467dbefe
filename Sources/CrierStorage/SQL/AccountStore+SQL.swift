import CrierCore
import Foundation

/// Accounts in SQL both back ends run as written, so that there is one implementation of them.
enum AccountSQL {
    static let insertUser: SharedStatement = """
        INSERT INTO users (public_id, email, name, password_hash, is_admin, access, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING \(User.columns)
        """
    /// SQLite's email column compares without case (`COLLATE NOCASE`, indexed); PostgreSQL's unique
    /// index is on `lower(email)`. The one statement that differs, so each uses its index.
    static let userByEmail = SharedStatement(
        postgres: "SELECT \(User.columns) FROM users WHERE lower(email) = lower($1)",
        sqlite: "SELECT \(User.columns) FROM users WHERE email = ?1")
    static let userByPublicId: SharedStatement = "SELECT \(User.columns) FROM users WHERE public_id = $1"
    static let passwordHash: SharedStatement = "SELECT password_hash FROM users WHERE id = $1"
    static let setAccess: SharedStatement = "UPDATE users SET access = $1 WHERE id = $2"
    static let endSignIns: SharedStatement = "DELETE FROM web_sessions WHERE user_id = $1"
    /// A user and everything theirs; tokens, sign-ins and resets go with the user (`ON DELETE CASCADE`).
    static let deleteUser: [SharedStatement] = [
        """
        DELETE FROM message_attempts WHERE message_id IN
            (SELECT m.id FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE c.owner_id = $1)
        """,
        "DELETE FROM messages WHERE campaign_id IN (SELECT id FROM campaigns WHERE owner_id = $1)",
        "DELETE FROM campaigns WHERE owner_id = $1",
        "DELETE FROM whatsapp_sessions WHERE owner_id = $1",
        "DELETE FROM users WHERE id = $1",
    ]
    static let userCount: SharedStatement = "SELECT COUNT(*) FROM users"
    static let users: SharedStatement = "SELECT \(User.columns) FROM users ORDER BY id"
    static let insertToken: SharedStatement = """
        INSERT INTO api_tokens (public_id, user_id, label, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)
        """
    static let userByToken: SharedStatement = """
        SELECT \(User.qualifiedColumns), t.id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = $1 AND u.access = 'active'
        """
    static let noteTokenUse: SharedStatement = "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2"
    static let tokens: SharedStatement = "SELECT \(APITokenInfo.columns) FROM api_tokens WHERE user_id = $1 ORDER BY id"
    static let revokeToken: SharedStatement = "DELETE FROM api_tokens WHERE public_id = $1 AND user_id = $2"
    /// Expired sign-ins go as new ones arrive, so the table stays the size of the live ones.
    static let dropExpiredSignIns: SharedStatement = "DELETE FROM web_sessions WHERE expires_at <= $1"
    static let insertSignIn: SharedStatement = """
        INSERT INTO web_sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
        """
    static let userBySignIn: SharedStatement = """
        SELECT \(User.qualifiedColumns) FROM web_sessions w JOIN users u ON u.id = w.user_id
        WHERE w.token_hash = $1 AND w.expires_at > $2 AND u.access = 'active'
        """
    static let deleteSignIn: SharedStatement = "DELETE FROM web_sessions WHERE token_hash = $1"
    static let setPasswordHash: SharedStatement = "UPDATE users SET password_hash = $1 WHERE id = $2"
    static let endOtherSignIns: SharedStatement =
        "DELETE FROM web_sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2"
    static let dropResets: SharedStatement = "DELETE FROM password_resets WHERE expires_at <= $1 OR user_id = $2"
    static let insertReset: SharedStatement = """
        INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
        """
    static let consumeReset: SharedStatement =
        "DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id"
}

extension AccountStore where Self: SQLBackend {
    public func createUser(
        email: String, name: String?, passwordHash: String, isAdmin: Bool, access: UserAccess, at: Date
    ) async throws -> User {
        let arguments: [SQLValue] = [
            .text(RandomPublicId.uuid()), .text(email), SQLValue(name), .text(passwordHash), .bool(isAdmin),
            .text(access.rawValue), SQLValue(at),
        ]
        guard let row = try await transaction([SQLStep(AccountSQL.insertUser, arguments)]).first?.rows.first else {
            throw DomainError.emailTaken
        }
        return try User(row: row)
    }

    public func user(email: String) async throws -> User? {
        try await firstRow(AccountSQL.userByEmail, [.text(email)]).map { try User(row: $0) }
    }

    public func user(publicId: String) async throws -> User? {
        try await firstRow(AccountSQL.userByPublicId, [.text(publicId)]).map { try User(row: $0) }
    }

    public func passwordHash(userId: Int64) async throws -> String? {
        try await firstRow(AccountSQL.passwordHash, [.int(userId)])?.text(0)
    }

    public func setAccess(_ access: UserAccess, userId: Int64) async throws -> Bool {
        var steps = [SQLStep(AccountSQL.setAccess, [.text(access.rawValue), .int(userId)])]
        if access != .active { steps.append(SQLStep(AccountSQL.endSignIns, [.int(userId)])) }
        return try await transaction(steps).first?.changes ?? 0 > 0
    }

    public func deleteUser(userId: Int64) async throws {
        _ = try await transaction(AccountSQL.deleteUser.map { SQLStep($0, [.int(userId)]) })
    }

    public func userCount() async throws -> Int {
        try await firstRow(AccountSQL.userCount, [])?.int(0) ?? 0
    }

    public func users() async throws -> [User] {
        try await rows(AccountSQL.users, []).map { try User(row: $0) }
    }

    public func addAPIToken(userId: Int64, label: String?, tokenHash: String, at: Date) async throws -> String {
        let publicId = RandomPublicId.short()
        _ = try await transaction([
            SQLStep(AccountSQL.insertToken, [.text(publicId), .int(userId), SQLValue(label), .text(tokenHash), SQLValue(at)])
        ])
        return publicId
    }

    public func user(apiTokenHash: String, at: Date) async throws -> User? {
        guard let row = try await firstRow(AccountSQL.userByToken, [.text(apiTokenHash)]) else { return nil }
        let user = try User(row: row)
        // Noted at most once a minute, so authentication stays a read.
        if (try row.optionalInt64(User.columnCount + 1) ?? .min) < at.millis - 60_000 {
            _ = try await transaction([SQLStep(AccountSQL.noteTokenUse, [SQLValue(at), .int(try row.int64(User.columnCount))])])
        }
        return user
    }

    public func apiTokens(userId: Int64) async throws -> [APITokenInfo] {
        try await rows(AccountSQL.tokens, [.int(userId)]).map { try APITokenInfo(row: $0) }
    }

    public func revokeAPIToken(id: String, userId: Int64) async throws -> Bool {
        try await transaction([SQLStep(AccountSQL.revokeToken, [.text(id), .int(userId)])]).first?.changes ?? 0 > 0
    }

    public func createWebSession(userId: Int64, tokenHash: String, expiresAt: Date, at: Date) async throws {
        _ = try await transaction([
            SQLStep(AccountSQL.dropExpiredSignIns, [SQLValue(at)]),
            SQLStep(AccountSQL.insertSignIn, [.text(tokenHash), .int(userId), SQLValue(at), SQLValue(expiresAt)]),
        ])
    }

    public func user(webSessionHash: String, at: Date) async throws -> User? {
        try await firstRow(AccountSQL.userBySignIn, [.text(webSessionHash), SQLValue(at)]).map { try User(row: $0) }
    }

    public func deleteWebSession(tokenHash: String) async throws {
        _ = try await transaction([SQLStep(AccountSQL.deleteSignIn, [.text(tokenHash)])])
    }

    public func setPasswordHash(userId: Int64, passwordHash: String, keeping: String?) async throws {
        _ = try await transaction([
            SQLStep(AccountSQL.setPasswordHash, [.text(passwordHash), .int(userId)]),
            SQLStep(AccountSQL.endOtherSignIns, [.int(userId), SQLValue(keeping)]),
        ])
    }

    public func createPasswordReset(userId: Int64, tokenHash: String, expiresAt: Date, at: Date) async throws {
        _ = try await transaction([
            SQLStep(AccountSQL.dropResets, [SQLValue(at), .int(userId)]),
            SQLStep(AccountSQL.insertReset, [.text(tokenHash), .int(userId), SQLValue(at), SQLValue(expiresAt)]),
        ])
    }

    public func consumePasswordReset(tokenHash: String, at: Date) async throws -> Int64? {
        try await transaction([SQLStep(AccountSQL.consumeReset, [.text(tokenHash), SQLValue(at)])]).first?.rows.first?
            .int64(0)
    }
}
