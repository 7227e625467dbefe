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

    public func addUser(email: String, name: String?, password: String, isAdmin: Bool) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces)
        guard email.contains("@"), !email.hasPrefix("@"), !email.hasSuffix("@"), email.count <= 254,
            !email.contains(where: \.isWhitespace)
        else {
            throw CampaignValidationError(field: "email", message: "email must be an email address")
        }
        guard password.count >= Self.minPasswordLength else {
            throw CampaignValidationError(
                field: "password", message: "password must be at least \(Self.minPasswordLength) characters")
        }
        let hash = Bcrypt.hash(password, cost: passwordHashCost)
        return try await store.createUser(email: email, name: name, passwordHash: hash, isAdmin: isAdmin, at: clock.now())
    }

    /// Creates an API token for the user; the returned token is shown once and never stored.
    public func createToken(email: String, label: String?) async throws -> String {
        guard let user = try await store.user(email: email) else { throw DomainError.userNotFound }
        let token = APIToken.generate()
        try await store.addAPIToken(userId: user.id, label: label, tokenHash: APIToken.hash(token), at: clock.now())
        return token
    }

    /// The user a bearer token belongs to, or `nil`.
    public func user(forToken token: String) async throws -> User? {
        try await store.user(apiTokenHash: APIToken.hash(token))
    }
}
