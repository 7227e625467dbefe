import CrierCore
import CrierStorage
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// Accounts and API tokens. Passwords are stored as bcrypt hashes, tokens as SHA-256 digests.
public struct AccountService: Sendable {
    public static let minPasswordLength = 8

    let store: any AccountStore
    let clock: any WallClock
    let passwordHashCost: UInt8

    /// `passwordHashCost` is bcrypt's work factor; tests lower it to stay fast.
    public init(store: any AccountStore, clock: any WallClock, passwordHashCost: UInt8 = 12) {
        self.store = store
        self.clock = clock
        self.passwordHashCost = passwordHashCost
    }

    /// bcrypt reads at most 72 bytes; a longer password would be silently cut.
    public static let maxPasswordBytes = 72

    /// Adds an account. The command line and first-run setup add active ones; dashboard sign-ups are
    /// `.pending` until an admin approves.
    public func addUser(
        email: String, name: String?, password: String, isAdmin: Bool, access: UserAccess = .active
    ) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces)
        guard email.contains("@"), !email.hasPrefix("@"), !email.hasSuffix("@"), email.utf8.count <= 254,
            !email.contains(where: \.isWhitespace)
        else {
            throw CampaignValidationError(field: "email", message: "email must be an email address")
        }
        try TextRules.checkControlCharacters(email, field: "email")
        if let name { try TextRules.check(name, field: "name", maxCharacters: 200) }
        try Self.checkPassword(password)
        let cost = passwordHashCost
        let hash = try await Self.offload { Bcrypt.hash(password, cost: cost) }
        return try await store.createUser(
            email: email, name: name, passwordHash: hash, isAdmin: isAdmin, access: access, at: clock.now())
    }

    /// How many sign-ups may wait for an administrator at once; beyond it sign-up is closed.
    public static let maxPendingAccounts = 50

    /// A dashboard sign-up, waiting for an administrator's approval.
    ///
    /// Answers alike whether or not the email has an account already (that account is left as it
    /// is), and costs the same bcrypt hash either way, so sign-up tells no one who has an account.
    /// Throws `DomainError.signUpsClosed` while `maxPendingAccounts` are waiting.
    public func signUp(email: String, name: String?, password: String) async throws {
        let pending = try await store.users().count { $0.access == .pending }
        guard pending < Self.maxPendingAccounts else { throw DomainError.signUpsClosed }
        do {
            _ = try await addUser(email: email, name: name, password: password, isAdmin: false, access: .pending)
        } catch DomainError.conflict(code: DomainError.emailTaken.code, _) {
            return
        }
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

    /// Whether the server still needs its first account (the dashboard's first-run setup).
    public func needsFirstUser() async throws -> Bool { try await store.userCount() == 0 }

    /// The user whose email and password these are, when they may sign in.
    ///
    /// An unknown email costs a bcrypt check as well, so timing does not tell which emails exist.
    public func signIn(email: String, password: String) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces)
        guard password.utf8.count <= Self.maxPasswordBytes, email.utf8.count <= 254,
            let user = try await store.user(email: email), let hash = try await store.passwordHash(userId: user.id)
        else {
            let guess = password.isEmpty ? "-" : String(password.prefix(Self.maxPasswordBytes))
            _ = try await Self.offload { Bcrypt.verify(guess, hash: Self.decoyHash) }
            throw SignInError.wrongCredentials
        }
        guard try await Self.offload({ Bcrypt.verify(password, hash: hash) }) else { throw SignInError.wrongCredentials }
        switch user.access {
        case .active: return user
        case .pending: throw SignInError.awaitingApproval
        case .revoked: throw SignInError.accessRevoked
        }
    }

    /// bcrypt takes a quarter of a second by design: it runs on NIO's blocking-work threads, so sign-ins
    /// never stall the threads that serve requests.
    private static func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    /// A hash of a random password at the production cost: what unknown emails are checked against.
    private static let decoyHash = Bcrypt.hash(APIToken.generate(), cost: 12)

    /// How long a dashboard sign-in lasts.
    public static let webSessionLifetime: TimeInterval = 7 * 24 * 3600

    /// Starts a dashboard sign-in; returns the cookie value (shown once, stored as a hash).
    public func startWebSession(for user: User) async throws -> String {
        let token = APIToken.generate()
        let now = clock.now()
        try await store.createWebSession(
            userId: user.id, tokenHash: APIToken.hash(token), expiresAt: now + Self.webSessionLifetime, at: now)
        return token
    }

    /// The signed-in user a dashboard cookie belongs to, or `nil`.
    public func user(forWebSession token: String) async throws -> User? {
        guard token.utf8.count <= 200 else { return nil }
        return try await store.user(webSessionHash: APIToken.hash(token), at: clock.now())
    }

    public func endWebSession(_ token: String) async throws {
        guard token.utf8.count <= 200 else { return }
        try await store.deleteWebSession(tokenHash: APIToken.hash(token))
    }

    public func tokens(for user: User) async throws -> [APITokenInfo] { try await store.apiTokens(userId: user.id) }

    public func revokeToken(id: String, for user: User) async throws {
        guard try await store.revokeAPIToken(id: id, userId: user.id) else { throw DomainError.tokenNotFound }
    }

    /// An admin approves (`.active`) or revokes a user. Admins cannot change their own access, so a
    /// server always keeps one admin who can sign in.
    public func setAccess(_ access: UserAccess, userPublicId: String, by admin: User) async throws {
        let user = try await managedUser(userPublicId, by: admin)
        _ = try await store.setAccess(access, userId: user.id)
    }

    /// An admin deletes a user and everything theirs (their gateway sessions stay at the gateway).
    public func deleteUser(userPublicId: String, by admin: User) async throws {
        try await store.deleteUser(userId: try await managedUser(userPublicId, by: admin).id)
    }

    private func managedUser(_ publicId: String, by admin: User) async throws -> User {
        guard admin.isAdmin else { throw DomainError.adminOnly }
        guard let user = try await store.user(publicId: publicId) else { throw DomainError.accountNotFound }
        guard user.id != admin.id else { throw DomainError.notYourself }
        return user
    }

    // MARK: Passwords

    /// Changes the signed-in user's password, the current one required; their other dashboard
    /// sign-ins end (`keepingSignIn` is the cookie of the one that asked).
    public func changePassword(for user: User, current: String, new: String, keepingSignIn cookie: String?) async throws {
        guard current.utf8.count <= Self.maxPasswordBytes, let hash = try await store.passwordHash(userId: user.id),
            try await Self.offload({ Bcrypt.verify(current, hash: hash) })
        else {
            throw CampaignValidationError(field: "currentPassword", message: "The current password is not right")
        }
        try await setPassword(userId: user.id, to: new, keeping: cookie.map(APIToken.hash))
    }

    /// How long a reset link works.
    public static let resetLinkLifetime: TimeInterval = 3600

    /// A one-time token for a reset link an admin hands to a user who forgot their password (an
    /// earlier link of theirs stops working). Shown once, stored as a hash.
    public func issuePasswordReset(userPublicId: String, by admin: User) async throws -> (token: String, user: User) {
        let user = try await managedUser(userPublicId, by: admin)
        let token = APIToken.generate()
        let now = clock.now()
        try await store.createPasswordReset(
            userId: user.id, tokenHash: APIToken.hash(token), expiresAt: now + Self.resetLinkLifetime, at: now)
        return (token, user)
    }

    /// Sets a new password with a reset token, which is then used up; every sign-in of the user ends.
    public func resetPassword(token: String, to new: String) async throws {
        try Self.checkPassword(new)
        guard token.utf8.count <= 200, let userId = try await store.consumePasswordReset(tokenHash: APIToken.hash(token), at: clock.now())
        else { throw DomainError.resetLinkInvalid }
        try await setPassword(userId: userId, to: new, keeping: nil)
    }

    /// Sets a user's password from the machine (`crier user set-password`); every sign-in of theirs ends.
    public func setPassword(email: String, to new: String) async throws {
        guard let user = try await store.user(email: email) else { throw DomainError.userNotFound }
        try await setPassword(userId: user.id, to: new, keeping: nil)
    }

    private func setPassword(userId: Int64, to new: String, keeping: String?) async throws {
        try Self.checkPassword(new)
        let cost = passwordHashCost
        let hash = try await Self.offload { Bcrypt.hash(new, cost: cost) }
        try await store.setPasswordHash(userId: userId, passwordHash: hash, keeping: keeping)
    }

    /// The user a bearer token belongs to, or `nil`.
    public func user(forToken token: String) async throws -> User? {
        guard token.utf8.count <= 200 else { return nil }
        return try await store.user(apiTokenHash: APIToken.hash(token), at: clock.now())
    }
}

/// Why a sign-in was refused, in words the person can act on.
public enum SignInError: Error, Hashable, Sendable {
    case wrongCredentials
    case awaitingApproval
    case accessRevoked

    public var message: String {
        switch self {
        case .wrongCredentials: "Wrong email or password."
        case .awaitingApproval: "Your account is waiting for an administrator's approval."
        case .accessRevoked: "An administrator has revoked this account's access."
        }
    }
}
