import CrierCore
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
}

/// An account's standing: sign-ups wait for an admin, and an admin can take access away again.
public enum UserAccess: String, Hashable, Sendable, CaseIterable {
    /// Signed up from the dashboard; cannot sign in until an admin approves.
    case pending
    case active
    /// Access taken away by an admin: sign-in, web sessions and API tokens are refused.
    case revoked
}

/// A campaign to store: its validated settings and the messages planned from them.
public struct NewCampaign: Sendable {
    public let settings: CampaignSettings
    public let messages: [PlannedMessage]

    public init(settings: CampaignSettings, messages: [PlannedMessage]) {
        self.settings = settings
        self.messages = messages
    }
}

/// A WhatsApp session (one phone number at the gateway) registered by a user.
public struct WhatsAppSession: Hashable, Sendable {
    /// The public id used by the API.
    public let id: String
    /// The session's name at the gateway, unique across the server.
    public let name: String
    public let ownerId: Int64
    public let createdAt: Date
}

/// A message row of a campaign's current schedule.
public struct StoredMessage: Hashable, Sendable {
    public let id: Int64
    /// The opaque id the API shows.
    public let publicId: String
    public let occurrenceIndex: Int
    public let occurrenceDate: LocalDate
    public let scheduledAt: Date
    public let content: String
    public let status: MessageStatus
    public let attemptCount: Int
    public let sentAt: Date?
    public let failedReason: String?
    public let deliveredAt: Date?
    public let readAt: Date?
    /// Every claim's outcome, oldest first: the answer to "why didn't Tuesday's reminder go out".
    public var attempts: [AttemptLog] = []
}

/// A campaign as stored, with the counts its status and progress are derived from.
public struct StoredCampaign: Hashable, Sendable {
    public let id: String
    public let ownerId: Int64
    public let session: WhatsAppSession
    /// The validated settings; `sessionId` is the session's public id.
    public let settings: CampaignSettings
    public let createdAt: Date
    public let updatedAt: Date
    public let deletedAt: Date?
    public let tally: MessageTally
    /// The first stored message's send instant (`sendTimeUtc`).
    public let firstSendAt: Date?
    /// The earliest send instant among messages not yet terminal.
    public let nextSendAt: Date?
    /// The current schedule's messages in send order, when asked for.
    public let messages: [StoredMessage]?

    public var status: CampaignStatus { CampaignStatus.derive(isDeleted: deletedAt != nil, tally: tally) }
}

/// Which of a user's campaigns a list shows.
public enum CampaignListing: Sendable {
    /// Not deleted, with at least one message not yet terminal.
    case active
    /// Not deleted, every message terminal.
    case completed
}

/// One page of a campaign list, newest first.
public struct CampaignPage: Sendable {
    public let campaigns: [StoredCampaign]
    /// Pass back as `cursor` to get the next page; `nil` on the last page.
    public let nextCursor: String?
}

/// An API token's public face: never the token itself, which is shown once and stored as a hash.
public struct APITokenInfo: Hashable, Sendable {
    public let id: String
    public let label: String?
    public let createdAt: Date
    public let lastUsedAt: Date?
}
