import CrierCore
import CrierGateway
import Foundation

/// What the dispatcher does after a send failed: a pure function of typed inputs (the failure, the
/// attempts so far, the times, the grace window), so every rule of DESIGN §5 is one row of a table
/// test. The dispatcher only carries decisions out.
public struct DispatchPolicy: Sendable {
    public let configuration: DispatcherConfiguration

    public init(configuration: DispatcherConfiguration) { self.configuration = configuration }

    /// The next step for a message.
    public enum Decision: Hashable, Sendable {
        /// Try again at `at`; `possiblyDelivered` means ask the gateway first.
        case retry(at: Date, reason: String, possiblyDelivered: Bool, metric: RetriedReason)
        /// Put it back without counting an attempt, until `until` (the session is not ready).
        case wait(until: Date, reason: String)
        case fail(reason: String, metric: FailedReason, gatewayStatus: Int?)
        case miss(reason: String, metric: MissedReason)
    }

    /// After a send through `session` failed with `failure`.
    /// - Parameters:
    ///   - attemptsBefore: sends tried before this one.
    ///   - possiblyDeliveredBefore: an earlier send may have gone out (waiting must not mark it missed).
    ///   - jitter: a random number in 0..<1 for the backoff.
    public func afterFailure(
        _ failure: GatewayFailure, session: String, attemptsBefore: Int, possiblyDeliveredBefore: Bool, now: Date,
        deadline: Date, jitter: Double
    ) -> Decision {
        switch failure {
        case .sessionNotReady(let status, let reason):
            let text = "Session \(session) is \(status?.rawValue ?? "not WORKING"): \(reason)"
            return waitForSession(reason: text, possiblyDelivered: possiblyDeliveredBefore, now: now, deadline: deadline)
        case .notDelivered(let reason):
            return retry(reason: reason, metric: .gatewayUnreachable, attemptsBefore: attemptsBefore, now: now,
                         deadline: deadline, jitter: jitter)
        case .ambiguous(let reason):
            return retry(reason: reason, metric: .possiblyDelivered, attemptsBefore: attemptsBefore, now: now,
                         deadline: deadline, jitter: jitter)
        case .rejected(let status, let reason, let credentialsRefused):
            return .fail(reason: reason, metric: credentialsRefused ? .credentialsRefused : .gatewayRejected,
                         gatewayStatus: status)
        case .unsupported(let reason), .historyUnavailable(let reason):
            return .fail(reason: reason, metric: .gatewayRejected, gatewayStatus: nil)
        }
    }

    /// The session is not ready: wait for it, unless its next look would fall past the grace window (then
    /// the message is missed) — but never give up on a send that may have gone out without asking.
    public func waitForSession(reason: String, possiblyDelivered: Bool, now: Date, deadline: Date) -> Decision {
        let until = now.addingTimeInterval(configuration.sessionRecheck)
        if until > deadline && !possiblyDelivered {
            return .miss(reason: missedReason(reason), metric: .sessionNotWorking)
        }
        return .wait(until: until, reason: reason)
    }

    private func retry(
        reason: String, metric: RetriedReason, attemptsBefore: Int, now: Date, deadline: Date, jitter: Double
    ) -> Decision {
        let attempts = attemptsBefore + 1
        let possiblyDelivered = metric == .possiblyDelivered
        if attempts >= configuration.maxAttempts && !possiblyDelivered {
            return .fail(reason: "Gave up after \(attempts) attempts: \(reason)", metric: .attemptsExhausted,
                         gatewayStatus: nil)
        }
        let next = now.addingTimeInterval(backoff(afterAttempt: attempts, jitter: jitter))
        if possiblyDelivered {
            // Ask only once the uncertain request can no longer complete at the gateway (WAHA finishes a
            // send after the client gave up), whatever the grace window says: the message may be out.
            return .retry(at: max(next, now.addingTimeInterval(configuration.reconcileDelay)), reason: reason,
                          possiblyDelivered: true, metric: metric)
        }
        if next > deadline {
            return .miss(reason: missedReason(reason), metric: .gatewayUnreachable)
        }
        return .retry(at: next, reason: reason, possiblyDelivered: false, metric: metric)
    }

    /// The one wording of "missed": the grace window, then why (empty `why` leaves room for the store
    /// to append the message's last error).
    public func missedReason(_ why: String) -> String {
        "Not sent within the \(Self.describe(configuration.grace)) grace window: \(why)"
    }

    /// Exponential backoff with jitter: half of `base × 2^(n−1)` (capped) fixed, half random.
    public func backoff(afterAttempt attempt: Int, jitter: Double) -> TimeInterval {
        let exponential = min(configuration.backoffCap, configuration.backoffBase * pow(2, Double(max(0, attempt - 1))))
        return exponential * (0.5 + 0.5 * jitter)
    }

    static func describe(_ interval: TimeInterval) -> String {
        if interval >= 3600, interval.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(interval / 3600))h" }
        if interval >= 60, interval.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(interval / 60))m" }
        return "\(Int(interval))s"
    }
}
