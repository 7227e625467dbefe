import CrierCore
import CrierStorage
import Foundation
import HummingbirdBcrypt

/// Accounts and API tokens. Passwords are stored as bcrypt hashes, tokens as SHA-256 digests.
public struct AccountService: Sendable {
    public static let minPasswordLength = 8

    let store: any Store
    let clock: any WallClock
    let passwordHashCost: UInt8

    /// `passwordHashCost` is bcrypt's work factor; tests lower it to stay fast.
    public init(store: any Store, clock: any WallClock, passwordHashCost: UInt8 = 12) {
        self.store = store
        self.clock = clock
        self.passwordHashCost = passwordHashCost
    }

    /// bcrypt reads at most 72 bytes; a longer password would be silently cut.
    public static let maxPasswordBytes = 72

    public func addUser(email: String, name: String?, password: String, isAdmin: Bool) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces)
        guard email.contains("@"), !email.hasPrefix("@"), !email.hasSuffix("@"), email.utf8.count <= 254,
            !email.contains(where: \.isWhitespace)
        else {
            throw CampaignValidationError(field: "email", message: "email must be an email address")
        }
        try TextRules.checkControlCharacters(email, field: "email")
        if let name { try TextRules.check(name, field: "name", maxCharacters: 200) }
        try Self.checkPassword(password)
        let hash = Bcrypt.hash(password, cost: passwordHashCost)
        return try await store.createUser(email: email, name: name, passwordHash: hash, isAdmin: isAdmin, at: clock.now())
    }

    /// Checks a password's length before anything asks for it twice or hashes it.
    public static func checkPassword(_ password: String) throws(CampaignValidationError) {
        guard password.count >= minPasswordLength else {
            throw CampaignValidationError(
                field: "password", message: "password must be at least \(minPasswordLength) characters")
        }
        guard password.utf8.count <= maxPasswordBytes else {
            throw CampaignValidationError(field: "password", message: "password must be at most \(maxPasswordBytes) bytes")
        }
    }

    /// Creates an API token for the user; the returned token is shown once and never stored.
    public func createToken(email: String, label: String?) async throws -> String {
        guard let user = try await store.user(email: email) else { throw DomainError.userNotFound }
        return try await createToken(for: user, label: label).token
    }

    /// Creates an API token; returns the token (shown once, never stored) and its public id.
    public func createToken(for user: User, label: String?) async throws -> (token: String, id: String) {
        if let label { try TextRules.check(label, field: "label", maxCharacters: 100) }
        let token = APIToken.generate()
        let id = try await store.addAPIToken(userId: user.id, label: label, tokenHash: APIToken.hash(token), at: clock.now())
        return (token, id)
    }

    public func tokens(email: String) async throws -> [APITokenInfo] {
        guard let user = try await store.user(email: email) else { throw DomainError.userNotFound }
        return try await store.apiTokens(userId: user.id)
    }

    /// Revokes the user's token with this id at once: the next request with it gets 401.
    public func revokeToken(id: String, email: String) async throws {
        guard let user = try await store.user(email: email) else { throw DomainError.userNotFound }
        guard try await store.revokeAPIToken(id: id, userId: user.id) else { throw DomainError.tokenNotFound }
    }

    public func users() async throws -> [User] { try await store.users() }

    /// The user a bearer token belongs to, or `nil`.
    public func user(forToken token: String) async throws -> User? {
        guard token.utf8.count <= 200 else { return nil }
        return try await store.user(apiTokenHash: APIToken.hash(token), at: clock.now())
    }
}
