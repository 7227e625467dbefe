import CrierCore
import Foundation

/// A message claimed for sending: everything the dispatcher needs, and the fencing token that makes
/// its outcome count only while the claim is still its own.
public struct ClaimedMessage: Hashable, Sendable {
    public let id: Int64
    /// Fencing token: grows with every claim; an outcome recorded with an older token is ignored.
    public let claimToken: Int64
    /// Sends tried before this claim.
    public let attemptCount: Int
    public let campaignId: String
    public let sessionName: String
    public let chatId: String
    public let content: String
    public let scheduledAt: Date
    /// A previous send may have reached the gateway: ask it before sending again.
    public let needsReconcile: Bool
    /// When that possibly-delivered send started (the reconciliation window starts before it).
    public let sendStartedAt: Date?
    public let lastError: String?
    /// The message id reserved at the gateway for this message, when its engine takes one: every send
    /// carries it, so "did it go out?" is a lookup by id.
    public let reservedMessageId: String?
    /// Whose campaign it is: whose open pages refresh when its state changes.
    public let ownerId: Int64
    /// The session's status as last stored (`nil`: never heard), so that a send that works stores
    /// WORKING only where something else was stored.
    public let storedSessionStatus: String?

    public init(
        id: Int64, claimToken: Int64, attemptCount: Int, campaignId: String, sessionName: String, chatId: String,
        content: String, scheduledAt: Date, needsReconcile: Bool, sendStartedAt: Date?, lastError: String?,
        reservedMessageId: String? = nil, ownerId: Int64 = 0, storedSessionStatus: String? = nil
    ) {
        self.id = id
        self.claimToken = claimToken
        self.attemptCount = attemptCount
        self.campaignId = campaignId
        self.sessionName = sessionName
        self.chatId = chatId
        self.content = content
        self.scheduledAt = scheduledAt
        self.needsReconcile = needsReconcile
        self.sendStartedAt = sendStartedAt
        self.lastError = lastError
        self.reservedMessageId = reservedMessageId
        self.ownerId = ownerId
        self.storedSessionStatus = storedSessionStatus
    }

    /// The same claim with a reserved message id.
    public func reserving(_ messageId: String) -> ClaimedMessage {
        ClaimedMessage(
            id: id, claimToken: claimToken, attemptCount: attemptCount, campaignId: campaignId, sessionName: sessionName,
            chatId: chatId, content: content, scheduledAt: scheduledAt, needsReconcile: needsReconcile,
            sendStartedAt: sendStartedAt, lastError: lastError, reservedMessageId: messageId, ownerId: ownerId,
            storedSessionStatus: storedSessionStatus)
    }
}

/// How one claim ended.
public enum SendOutcome: Hashable, Sendable {
    /// Accepted by the gateway (or found there by reconciliation).
    case sent(gatewayMessageId: GatewayMessageId?)
    /// Back to pending, to be tried at `at`. `needsReconcile` when the send may have gone out.
    case retry(at: Date, reason: String, needsReconcile: Bool, sendStartedAt: Date?)
    /// The session is not WORKING: back to pending until `until`, no attempt counted.
    case wait(until: Date, reason: String)
    case failed(reason: String)
    case missed(reason: String)
}

/// A claim's outcome with its audit line, as the dispatcher records it.
public struct OutcomeRecord: Sendable {
    public let claim: ClaimedMessage
    public let outcome: SendOutcome
    public let log: AttemptLog

    public init(_ claim: ClaimedMessage, _ outcome: SendOutcome, log: AttemptLog) {
        self.claim = claim
        self.outcome = outcome
        self.log = log
    }
}

/// A message id reserved at the gateway for a claim's message.
public struct MessageIdReservation: Sendable {
    public let claim: ClaimedMessage
    public let messageId: String

    public init(_ claim: ClaimedMessage, _ messageId: String) {
        self.claim = claim
        self.messageId = messageId
    }
}

/// The dispatcher's view of the store: claims with leases and fencing, outcomes, recovery, acks.
public protocol DispatchStore: Sendable {
    /// Where dispatchers hear that something changed (in this process, or any sharing the database).
    var changes: any ChangeFeed { get }
    /// Atomically claims up to `limit` pending messages due at `now`, oldest due first, leased to
    /// `owner` until `leaseUntil`.
    func claimDueMessages(now: Date, limit: Int, owner: String, leaseUntil: Date) async throws -> [ClaimedMessage]
    /// Extends the leases of every claim `owner` holds but those in `except` (claims whose outcome could
    /// not be recorded: left to run out, so that whoever recovers them asks the gateway what happened).
    func renewClaims(owner: String, until: Date, except: [Int64]) async throws
    /// Records how each claim ended, with its audit line, in one transaction (outcomes of many
    /// concurrent sends are written together). Each result is `false` (nothing written for it) when
    /// that claim is no longer this one's (fenced out).
    func recordOutcomes(_ records: [OutcomeRecord]) async throws -> [Bool]
    /// Persists the message ids reserved at the gateway for these claims' messages, before they are
    /// sent, in one transaction; each result is `false` when that claim is no longer this one's.
    func recordReservedMessageIds(_ reservations: [MessageIdReservation]) async throws -> [Bool]
    /// Returns claims that were never started to pending, untouched (shutdown).
    func releaseClaims(_ claims: [ClaimedMessage], owner: String) async throws
    /// Claims whose lease ran out (their process died): back to pending, to be reconciled before any
    /// resend, and not before `reconcileAfter` has passed since they were claimed (a send the dead
    /// process started may still complete at the gateway). Returns how many.
    func recoverExpiredClaims(now: Date, reconcileAfter: TimeInterval) async throws -> Int
    /// Pending messages scheduled before `cutoff` that no send may have reached become `missed`, with
    /// `reason` followed by their last error. Returns how many. Only messages whose next attempt is
    /// due are looked at — all of them, since the policy never puts an attempt past the grace window —
    /// so that the index of due messages finds them (no second time-ordered index to keep).
    func markMissed(scheduledBefore cutoff: Date, reason: String, now: Date) async throws -> Int
    /// When the earliest pending message falls due.
    func nextDueAt() async throws -> Date?
}

extension DispatchStore {
    /// Records how one claim ended; `false` when the claim is no longer this one's.
    @discardableResult
    public func recordOutcome(_ claim: ClaimedMessage, _ outcome: SendOutcome, log: AttemptLog) async throws -> Bool {
        try await recordOutcomes([OutcomeRecord(claim, outcome, log: log)]).first ?? false
    }

    /// Persists one reserved message id; `false` when the claim is no longer this one's.
    public func recordReservedMessageId(_ claim: ClaimedMessage, _ messageId: String) async throws -> Bool {
        try await recordReservedMessageIds([MessageIdReservation(claim, messageId)]).first ?? false
    }
}
