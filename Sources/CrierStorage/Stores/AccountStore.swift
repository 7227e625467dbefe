import CrierCore
import Foundation

/// Accounts and their credentials: users, API tokens, dashboard sign-ins, password resets. Passwords
/// and tokens are only ever held as hashes. (`AccountStore+SQL`: written once for both back ends.)
public protocol AccountStore: Sendable {
    func createUser(
        email: String, name: String?, passwordHash: String, isAdmin: Bool, access: UserAccess, at: Date
    ) async throws -> User
    func user(email: String) async throws -> User?
    /// The user with this public id.
    func user(publicId: String) async throws -> User?
    /// The user's bcrypt hash, to check a sign-in against.
    func passwordHash(userId: Int64) async throws -> String?
    /// Sets whether the user may sign in; `false` when there is no such user.
    func setAccess(_ access: UserAccess, userId: Int64) async throws -> Bool
    /// Deletes the user and everything theirs: campaigns, messages, sessions, tokens, web sessions.
    func deleteUser(userId: Int64) async throws
    func userCount() async throws -> Int
    /// Every user, oldest first.
    func users() async throws -> [User]
    /// Stores a token's hash; returns the token's public id.
    func addAPIToken(userId: Int64, label: String?, tokenHash: String, at: Date) async throws -> String
    /// The token's user, noting the use at `at`.
    func user(apiTokenHash: String, at: Date) async throws -> User?
    func apiTokens(userId: Int64) async throws -> [APITokenInfo]
    /// Deletes the user's token with this public id; `false` when there is none.
    func revokeAPIToken(id: String, userId: Int64) async throws -> Bool
    /// Stores a dashboard sign-in (the cookie's hash) valid until `expiresAt`.
    func createWebSession(userId: Int64, tokenHash: String, expiresAt: Date, at: Date) async throws
    /// The active user a dashboard cookie's hash belongs to while it has not expired.
    func user(webSessionHash: String, at: Date) async throws -> User?
    func deleteWebSession(tokenHash: String) async throws
    /// Sets the user's bcrypt hash and ends their dashboard sign-ins but `keeping` (a cookie's hash).
    func setPasswordHash(userId: Int64, passwordHash: String, keeping: String?) async throws
    /// Stores a password-reset token's hash, usable once until `expiresAt`.
    func createPasswordReset(userId: Int64, tokenHash: String, expiresAt: Date, at: Date) async throws
    /// Uses up a reset token that is unused and unexpired at `at`; returns its user's row id, or `nil`.
    func consumePasswordReset(tokenHash: String, at: Date) async throws -> Int64?
}
