import Foundation

/// A campaign to store: its validated settings and the messages planned from them.
public struct NewCampaign: Sendable {
    public let settings: CampaignSettings
    public let messages: [PlannedMessage]

    public init(settings: CampaignSettings, messages: [PlannedMessage]) {
        self.settings = settings
        self.messages = messages
    }
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

    public init(
        id: Int64, publicId: String, occurrenceIndex: Int, occurrenceDate: LocalDate, scheduledAt: Date, content: String,
        status: MessageStatus, attemptCount: Int, sentAt: Date?, failedReason: String?, deliveredAt: Date?, readAt: Date?,
        attempts: [AttemptLog] = []
    ) {
        self.id = id
        self.publicId = publicId
        self.occurrenceIndex = occurrenceIndex
        self.occurrenceDate = occurrenceDate
        self.scheduledAt = scheduledAt
        self.content = content
        self.status = status
        self.attemptCount = attemptCount
        self.sentAt = sentAt
        self.failedReason = failedReason
        self.deliveredAt = deliveredAt
        self.readAt = readAt
        self.attempts = attempts
    }
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
    /// The last status the gateway reported for the campaign's session (`nil`: never heard).
    public let sessionStatus: String?
    /// Why a message that is due waits: the last error of one waiting for a retry (`nil`: none waits).
    public let waitingReason: String?

    public var status: CampaignStatus { CampaignStatus.derive(isDeleted: deletedAt != nil, tally: tally) }

    public init(
        id: String, ownerId: Int64, session: WhatsAppSession, settings: CampaignSettings, createdAt: Date, updatedAt: Date,
        deletedAt: Date?, tally: MessageTally, firstSendAt: Date?, nextSendAt: Date?, messages: [StoredMessage]?,
        sessionStatus: String? = nil, waitingReason: String? = nil
    ) {
        self.id = id
        self.ownerId = ownerId
        self.session = session
        self.settings = settings
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deletedAt = deletedAt
        self.tally = tally
        self.firstSendAt = firstSendAt
        self.nextSendAt = nextSendAt
        self.messages = messages
        self.sessionStatus = sessionStatus
        self.waitingReason = waitingReason
    }
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

    public init(campaigns: [StoredCampaign], nextCursor: String?) {
        self.campaigns = campaigns
        self.nextCursor = nextCursor
    }
}
