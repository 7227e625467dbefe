import Foundation
import Synchronization

/// Wakes the dispatcher when campaigns change, so it does not wait for its periodic re-check — and,
/// when the change says when its messages fall due, lets it sleep on if it will look by then anyway.
public final class WakeUpSignal: Sendable {
    /// Why a wait ended.
    public enum Wake: Equatable, Sendable {
        /// The timeout passed with no signal.
        case timedOut
        /// Something changed that may be due now: look.
        case lookNow
        /// Only messages falling due at this instant (the earliest of the signals since the last wait)
        /// were added.
        case dueAt(Date)

        /// Two signals' worth of news: "look now" outweighs any instant; of two instants, the sooner.
        func merged(with other: Wake) -> Wake {
            if case .dueAt(let a) = self, case .dueAt(let b) = other { return .dueAt(min(a, b)) }
            return .lookNow
        }
    }

    private struct State {
        var pending: Wake?
        var waiter: CheckedContinuation<Wake, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    /// Something changed: wake the waiter now, or the next one at once. `dueAt`: the soonest anything
    /// the change added falls due, when known; nil means "look now".
    public func signal(dueAt: Date? = nil) {
        let wake = dueAt.map(Wake.dueAt) ?? .lookNow
        let waiter = state.withLock { state -> CheckedContinuation<Wake, Never>? in
            guard let waiter = state.waiter else {
                state.pending = state.pending.map { $0.merged(with: wake) } ?? wake
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: wake)
    }

    /// Returns on a signal, after `timeout`, or on cancellation (as `timedOut`), whichever comes first.
    public func wait(timeout: Duration) async -> Wake {
        await withTaskGroup(of: Wake.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .timedOut
            }
            let first = await group.next() ?? .timedOut
            group.cancelAll()
            return first
        }
    }

    private func waitForSignal() async -> Wake {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Wake? in
                    if let pending = state.pending {
                        state.pending = nil
                        return pending
                    }
                    if Task.isCancelled { return .timedOut }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Wake, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: .timedOut)
        }
    }
}
