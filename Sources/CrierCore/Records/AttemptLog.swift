import Foundation

/// How one claim of a message ended: the names the audit trail, the API and the SQL share.
public enum AttemptOutcome: String, Sendable, CaseIterable {
    /// Accepted by the gateway.
    case sent
    /// Certainly not delivered; tried again later.
    case retry
    /// May have been delivered: checked with the gateway before any resend.
    case ambiguous
    /// Found at the gateway after an uncertain send; not sent again.
    case reconciled
    /// The session was not WORKING (or an uncertain send could still complete); no attempt counted.
    case waiting
    case failed
    case missed
    /// The process sending it stopped before recording an outcome.
    case leaseExpired = "lease_expired"
}

/// One line of a message's audit trail.
public struct AttemptLog: Hashable, Sendable {
    public let startedAt: Date
    public let finishedAt: Date
    public let outcome: AttemptOutcome
    public let gatewayStatus: Int?
    public let reason: String?
    /// Whether a send was actually tried (counts against the attempt limit).
    public let attempted: Bool

    public init(
        startedAt: Date, finishedAt: Date, outcome: AttemptOutcome, gatewayStatus: Int?, reason: String?, attempted: Bool
    ) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.gatewayStatus = gatewayStatus
        self.reason = reason
        self.attempted = attempted
    }
}
