import CrierCore
import Foundation

/// What contract tests must arrange or read that no `Store` operation offers, implemented by every
/// back end so one test suite runs on all of them. Test-only by intent: nothing in Crier calls it.
public protocol StoreTestSeam: Store {
    /// Puts one message of a campaign's current schedule in `status`, standing in for the dispatcher.
    func forceStatus(_ status: MessageStatus, campaignId: String, occurrence: Int) async throws
    /// A message's dispatch bookkeeping, which the API does not show.
    func internals(ofMessage id: Int64) async throws -> MessageInternals?
    /// How many message rows, of any campaign and schedule version, are in `status`.
    func messageCount(status: MessageStatus) async throws -> Int
    /// How many message rows hold a lease.
    func leasedMessageCount() async throws -> Int
    /// How many campaign rows exist, deleted or not.
    func campaignCount() async throws -> Int
    /// Brings the planner's statistics up to date after a bulk load (benchmarks), so the database does
    /// not do it by itself in the middle of the measurement.
    func settle() async throws
    /// How many attempt lines have this outcome (`lease_expired`: claims recovered from a dead process).
    func attemptCount(outcome: AttemptOutcome) async throws -> Int
    /// Records one message as sent with these gateway ids, standing in for the dispatcher; returns
    /// the message's public id.
    func forceSent(campaignId: String, occurrence: Int, gatewayMessageId: String, rawId: String, at: Date) async throws -> String
}

/// A message's dispatch bookkeeping.
public struct MessageInternals: Hashable, Sendable {
    public let gatewayMessageId: String?
    public let gatewayRawId: String?
    public let reservedMessageId: String?
    public let needsReconcile: Bool
    public let nextAttemptAt: Date
    public let leaseOwner: String?
    public let claimToken: Int64

    public init(
        gatewayMessageId: String?, gatewayRawId: String?, reservedMessageId: String?, needsReconcile: Bool,
        nextAttemptAt: Date, leaseOwner: String?, claimToken: Int64
    ) {
        self.gatewayMessageId = gatewayMessageId
        self.gatewayRawId = gatewayRawId
        self.reservedMessageId = reservedMessageId
        self.needsReconcile = needsReconcile
        self.nextAttemptAt = nextAttemptAt
        self.leaseOwner = leaseOwner
        self.claimToken = claimToken
    }
}
