import Foundation

/// A WhatsApp session (one phone number at the gateway) registered by a user.
public struct WhatsAppSession: Hashable, Sendable {
    /// The public id used by the API.
    public let id: String
    /// The session's name at the gateway, unique across the server.
    public let name: String
    public let ownerId: Int64
    public let createdAt: Date

    public init(id: String, name: String, ownerId: Int64, createdAt: Date) {
        self.id = id
        self.name = name
        self.ownerId = ownerId
        self.createdAt = createdAt
    }
}
