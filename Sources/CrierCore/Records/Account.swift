import Foundation

/// An account. Passwords and tokens are only ever held as hashes.
public struct User: Hashable, Sendable {
    public let id: Int64
    /// Opaque id shown outside the database (the owner tag of sessions created at the gateway).
    public let publicId: String
    public let email: String
    public let name: String?
    public let isAdmin: Bool
    public let createdAt: Date
    /// Whether the account may sign in and use its tokens.
    public var access: UserAccess = .active

    public init(
        id: Int64, publicId: String, email: String, name: String?, isAdmin: Bool, createdAt: Date,
        access: UserAccess = .active
    ) {
        self.id = id
        self.publicId = publicId
        self.email = email
        self.name = name
        self.isAdmin = isAdmin
        self.createdAt = createdAt
        self.access = access
    }
}

/// An account's standing: sign-ups wait for an admin, and an admin can take access away again.
public enum UserAccess: String, Hashable, Sendable, CaseIterable {
    /// Signed up from the dashboard; cannot sign in until an admin approves.
    case pending
    case active
    /// Access taken away by an admin: sign-in, web sessions and API tokens are refused.
    case revoked
}

/// An API token's public face: never the token itself, which is shown once and stored as a hash.
public struct APITokenInfo: Hashable, Sendable {
    public let id: String
    public let label: String?
    public let createdAt: Date
    public let lastUsedAt: Date?

    public init(id: String, label: String?, createdAt: Date, lastUsedAt: Date?) {
        self.id = id
        self.label = label
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}
