import CrierStorage
import Foundation

/// The claims a process holds, queued per WhatsApp session: each session's messages go out one at a
/// time (paced), different sessions in parallel, one lane task per busy session.
actor SessionLanes {
    private var queues: [String: [ClaimedMessage]] = [:]
    private var active: Set<String> = []
    private var lastSend: [String: ContinuousClock.Instant] = [:]
    private var notReadyUntil: [String: (until: ContinuousClock.Instant, reason: String)] = [:]
    private var draining = false
    /// When the dispatcher last asked the gateway to start or restart each session.
    private var lastRestart: [String: Date] = [:]
    /// Sessions whose engine cannot take a reserved message id (asked once per process).
    private var withoutReservedIds: Set<String> = []
    /// Claims queued or being processed.
    private(set) var held = 0

    /// Queues claims; returns the sessions that need a lane started.
    func enqueue(_ claims: [ClaimedMessage]) -> [String] {
        var started: [String] = []
        for claim in claims {
            queues[claim.sessionName, default: []].append(claim)
            held += 1
            if !active.contains(claim.sessionName) {
                active.insert(claim.sessionName)
                started.append(claim.sessionName)
            }
        }
        return started
    }

    /// The session's next claim, or `nil` when its queue is empty or the process is stopping (the lane
    /// then ends).
    func next(for session: String) -> ClaimedMessage? {
        guard !draining, var queue = queues[session], !queue.isEmpty else {
            queues[session] = nil
            active.remove(session)
            return nil
        }
        let claim = queue.removeFirst()
        queues[session] = queue.isEmpty ? nil : queue
        return claim
    }

    func finished() { held -= 1 }

    /// How long to wait so that this session's next send starts `gap` after its last one ended.
    func pacingWait(for session: String, gap: Duration) -> Duration {
        guard gap > .zero, let last = lastSend[session] else { return .zero }
        return max(.zero, last + gap - ContinuousClock.now)
    }

    func recordSend(for session: String) { lastSend[session] = .now }

    /// Remembers that the gateway said the session is not WORKING, so its other queued messages wait
    /// without asking again until `recheck` has passed.
    func markNotReady(_ session: String, reason: String, for recheck: Duration) {
        notReadyUntil[session] = (.now + recheck, reason)
    }

    func notReadyReason(_ session: String) -> String? {
        guard let entry = notReadyUntil[session] else { return nil }
        guard entry.until > .now else {
            notReadyUntil[session] = nil
            return nil
        }
        return entry.reason
    }

    /// Whether the session may be (re)started now, at most once per `interval`; notes it when so.
    func claimRestart(_ session: String, now: Date, interval: TimeInterval) -> Bool {
        if let last = lastRestart[session], now.timeIntervalSince(last) < interval { return false }
        lastRestart[session] = now
        return true
    }

    func takesReservedIds(_ session: String) -> Bool { !withoutReservedIds.contains(session) }
    func noteNoReservedIds(_ session: String) { withoutReservedIds.insert(session) }

    /// Stops every lane after its current message and hands back the claims never started.
    func drain() -> [ClaimedMessage] {
        draining = true
        let unstarted = queues.values.flatMap { $0 }
        held -= unstarted.count
        queues = [:]
        return unstarted
    }

    var isIdle: Bool { active.isEmpty }
}

/// Bounds the gateway requests open at once.
actor AsyncSemaphore {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { available = max(1, count) }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            available += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
