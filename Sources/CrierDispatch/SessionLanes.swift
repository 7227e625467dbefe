import CrierStorage
import Foundation
import Synchronization

/// The claims a process holds, queued per WhatsApp session: each session's messages go out one at a
/// time (paced), different sessions in parallel, one lane task per busy session. Every operation is a
/// short critical section under a lock, so a send never waits for a hop to another executor.
final class SessionLanes: Sendable {
    private struct State {
        var queues: [String: [ClaimedMessage]] = [:]
        var active: Set<String> = []
        var lastSend: [String: ContinuousClock.Instant] = [:]
        var notReadyUntil: [String: (until: ContinuousClock.Instant, reason: String)] = [:]
        var draining = false
        /// When the dispatcher last asked the gateway to start or restart each session.
        var lastRestart: [String: Date] = [:]
        /// Sessions whose engine cannot take a reserved message id (asked once per process).
        var withoutReservedIds: Set<String> = []
        /// Claims queued or being processed.
        var held = 0
    }

    private let state = Mutex(State())

    /// Claims queued or being processed.
    var held: Int { state.withLock { $0.held } }

    /// Queues claims; returns the sessions that need a lane started.
    func enqueue(_ claims: [ClaimedMessage]) -> [String] {
        state.withLock { state in
            var started: [String] = []
            for claim in claims {
                state.queues[claim.sessionName, default: []].append(claim)
                state.held += 1
                if state.active.insert(claim.sessionName).inserted { started.append(claim.sessionName) }
            }
            return started
        }
    }

    /// The session's next claim, or `nil` when its queue is empty or the process is stopping (the lane
    /// then ends).
    func next(for session: String) -> ClaimedMessage? {
        state.withLock { state in
            guard !state.draining, state.queues[session]?.isEmpty == false else {
                state.queues[session] = nil
                state.active.remove(session)
                return nil
            }
            let claim = state.queues[session]?.removeFirst()
            if state.queues[session]?.isEmpty == true { state.queues[session] = nil }
            return claim
        }
    }

    func finished() { state.withLock { $0.held -= 1 } }

    /// How long to wait so that this session's next send starts `gap` after its last one ended.
    func pacingWait(for session: String, gap: Duration) -> Duration {
        guard gap > .zero, let last = state.withLock({ $0.lastSend[session] }) else { return .zero }
        return max(.zero, last + gap - ContinuousClock.now)
    }

    func recordSend(for session: String) { state.withLock { $0.lastSend[session] = .now } }

    /// Remembers that the gateway said the session is not WORKING, so its other queued messages wait
    /// without asking again until `recheck` has passed.
    func markNotReady(_ session: String, reason: String, for recheck: Duration) {
        state.withLock { $0.notReadyUntil[session] = (.now + recheck, reason) }
    }

    func notReadyReason(_ session: String) -> String? {
        state.withLock { state in
            guard let entry = state.notReadyUntil[session] else { return nil }
            guard entry.until > .now else {
                state.notReadyUntil[session] = nil
                return nil
            }
            return entry.reason
        }
    }

    /// Whether the session may be (re)started now, at most once per `interval`; notes it when so.
    func claimRestart(_ session: String, now: Date, interval: TimeInterval) -> Bool {
        state.withLock { state in
            if let last = state.lastRestart[session], now.timeIntervalSince(last) < interval { return false }
            state.lastRestart[session] = now
            return true
        }
    }

    func takesReservedIds(_ session: String) -> Bool { state.withLock { !$0.withoutReservedIds.contains(session) } }
    func noteNoReservedIds(_ session: String) { state.withLock { _ = $0.withoutReservedIds.insert(session) } }

    /// Stops every lane after its current message and hands back the claims never started.
    func drain() -> [ClaimedMessage] {
        state.withLock { state in
            state.draining = true
            let unstarted = state.queues.values.flatMap { $0 }
            state.held -= unstarted.count
            state.queues = [:]
            return unstarted
        }
    }

    var isIdle: Bool { state.withLock { $0.active.isEmpty } }
}

/// Bounds the gateway requests open at once; a free slot is taken without leaving the caller's task.
final class AsyncSemaphore: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Index of the longest-waiting continuation in `waiters`.
        var head = 0

        mutating func takeSlot() -> Bool {
            guard available > 0 else { return false }
            available -= 1
            return true
        }
    }

    private let state: Mutex<State>

    init(_ count: Int) { state = Mutex(State(available: max(1, count))) }

    func acquire() async {
        guard !state.withLock({ $0.takeSlot() }) else { return }
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.takeSlot() { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.head < state.waiters.count else {
                state.available += 1
                return nil
            }
            let next = state.waiters[state.head]
            state.head += 1
            if state.head == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return next
        }
        next?.resume()
    }
}
