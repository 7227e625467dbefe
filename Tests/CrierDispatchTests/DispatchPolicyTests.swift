import CrierDispatch
import CrierGateway
import Foundation
import Testing

/// Every rule of DESIGN §5 about what follows a failed send, one row each.
@Suite("Dispatch policy")
struct DispatchPolicyTests {
    static let now = Date(timeIntervalSince1970: 1_893_488_400)  // 2030-01-01T09:00:00Z
    static let deadline = now.addingTimeInterval(3600)

    struct Row: Sendable, CustomTestStringConvertible {
        let why: String
        let failure: GatewayFailure
        var attemptsBefore = 0
        var possiblyDeliveredBefore = false
        var deadline = DispatchPolicyTests.deadline
        let expected: DispatchPolicy.Decision
        var testDescription: String { why }
    }

    static let rows: [Row] = [
        Row(why: "WAHA's 422: the session is not WORKING — wait, no attempt counted",
            failure: .sessionNotReady(status: .starting, reason: "not as expected"),
            expected: .wait(until: now.addingTimeInterval(5), reason: "Session s1 is STARTING: not as expected")),
        Row(why: "WAHA's 404 'start it first': the session is not running — wait, no attempt counted",
            failure: .sessionNotReady(status: .stopped, reason: "start it first"),
            expected: .wait(until: now.addingTimeInterval(5), reason: "Session s1 is STOPPED: start it first")),
        Row(why: "a session still not ready when the window closes: missed",
            failure: .sessionNotReady(status: .failed, reason: "x"), deadline: now.addingTimeInterval(2),
            expected: .miss(reason: "Not sent within the 1h grace window: Session s1 is FAILED: x", metric: .sessionNotWorking)),
        Row(why: "…unless an earlier send may have gone out: then it waits to ask, never marked missed blindly",
            failure: .sessionNotReady(status: .failed, reason: "x"), possiblyDeliveredBefore: true,
            deadline: now.addingTimeInterval(2),
            expected: .wait(until: now.addingTimeInterval(5), reason: "Session s1 is FAILED: x")),
        Row(why: "certainly not delivered (refused, DNS, 429): retried with backoff (5 s × jitter 0.75)",
            failure: .notDelivered(reason: "refused"),
            expected: .retry(at: now.addingTimeInterval(3.75), reason: "refused", possiblyDelivered: false, metric: .gatewayUnreachable)),
        Row(why: "backoff doubles per attempt (third attempt: 20 s × 0.75)",
            failure: .notDelivered(reason: "refused"), attemptsBefore: 2,
            expected: .retry(at: now.addingTimeInterval(15), reason: "refused", possiblyDelivered: false, metric: .gatewayUnreachable)),
        Row(why: "attempts are bounded (5): the fifth failure fails",
            failure: .notDelivered(reason: "refused"), attemptsBefore: 4,
            expected: .fail(reason: "Gave up after 5 attempts: refused", metric: .attemptsExhausted, gatewayStatus: nil)),
        Row(why: "a retry that would fall past the window: missed",
            failure: .notDelivered(reason: "refused"), deadline: now.addingTimeInterval(1),
            expected: .miss(reason: "Not sent within the 1h grace window: refused", metric: .gatewayUnreachable)),
        Row(why: "maybe delivered (5xx, timeout, reset): asked only after the uncertain request can no longer complete",
            failure: .ambiguous(reason: "timeout"),
            expected: .retry(at: now.addingTimeInterval(35), reason: "timeout", possiblyDelivered: true, metric: .possiblyDelivered)),
        Row(why: "maybe delivered, past the window and the attempt bound: still asked (after the backoff, 80 s × 0.75), never dropped or resent blindly",
            failure: .ambiguous(reason: "timeout"), attemptsBefore: 4, deadline: now,
            expected: .retry(at: now.addingTimeInterval(60), reason: "timeout", possiblyDelivered: true, metric: .possiblyDelivered)),
        Row(why: "refused for good (bad chat id): failed with WAHA's reason and status",
            failure: .rejected(httpStatus: 400, reason: "WAHA 400: bad chat", credentialsRefused: false),
            expected: .fail(reason: "WAHA 400: bad chat", metric: .gatewayRejected, gatewayStatus: 400)),
        Row(why: "credentials refused (401/403): failed, counted apart",
            failure: .rejected(httpStatus: 401, reason: "WAHA 401: Unauthorized", credentialsRefused: true),
            expected: .fail(reason: "WAHA 401: Unauthorized", metric: .credentialsRefused, gatewayStatus: 401)),
        Row(why: "no message history at the gateway (NOWEB store off): a visible failure, not 'ambiguous'",
            failure: .historyUnavailable(reason: "NOWEB store off"),
            expected: .fail(reason: "NOWEB store off", metric: .gatewayRejected, gatewayStatus: nil)),
    ]

    @Test("after a failed send", arguments: rows)
    func afterFailure(_ row: Row) {
        let policy = DispatchPolicy(configuration: DispatcherConfiguration())
        let decision = policy.afterFailure(
            row.failure, session: "s1", attemptsBefore: row.attemptsBefore,
            possiblyDeliveredBefore: row.possiblyDeliveredBefore, now: Self.now, deadline: row.deadline, jitter: 0.5)
        #expect(decision == row.expected)
    }
}
