import CrierCore
import CrierStorage
import Foundation
import Synchronization

/// Whether the database can take writes, as readiness reports it and as the API answers when it
/// cannot (503, never a 500).
///
/// Two sources, because a probe alone can pass while real writes fail (a one-row update fits in
/// pages the database already has; a damaged page elsewhere is never read by it): the probe itself,
/// and every storage failure a request or the dispatcher met. Readiness stays red for `memory`
/// after the last such failure.
public final class StorageHealth: Sendable {
    private let store: any StorageProbe
    private let clock: any WallClock
    private let memory: TimeInterval
    private let probeTimeout: Duration
    private let lastFailure = Mutex<(reason: String, at: Date)?>(nil)
    /// The last probe's answer: probes closer together than a second share it, so a flood of
    /// readiness requests is not a flood of writes.
    private let lastProbe = Mutex<(result: String?, at: Date)?>(nil)

    public init(store: any StorageProbe, clock: any WallClock, memory: TimeInterval = 60, probeTimeout: Duration = .seconds(5)) {
        self.store = store
        self.clock = clock
        self.memory = memory
        self.probeTimeout = probeTimeout
    }

    /// `error` as the database failing, remembered for readiness; `nil` when it is something else.
    public func unavailability(of error: any Error) -> StoreUnavailable? {
        guard let unavailable = store.unavailability(of: error) else { return nil }
        let now = clock.now()
        lastFailure.withLock { $0 = (unavailable.reason, now) }
        return unavailable
    }

    /// `nil` when the database takes a write now and met no failure lately, else what is wrong.
    public func check() async -> String? {
        if let probe = await probe() { return probe }
        let now = clock.now()
        return lastFailure.withLock { failure in
            guard let recent = failure, now.timeIntervalSince(recent.at) < memory else { return nil }
            return "\(recent.reason) (\(Int(now.timeIntervalSince(recent.at))) s ago)"
        }
    }

    private func probe() async -> String? {
        let started = clock.now()
        if let recent = lastProbe.withLock({ $0 }), abs(started.timeIntervalSince(recent.at)) < 1 { return recent.result }
        let result: String?
        do {
            try await withTimeout(probeTimeout) { try await self.store.ping() }
            result = nil
        } catch is ProbeTimedOut {
            result = "no answer within \(probeTimeout)"
        } catch {
            result = unavailability(of: error)?.reason ?? "failing"
        }
        lastProbe.withLock { $0 = (result, started) }
        return result
    }

    private struct ProbeTimedOut: Error {}

    private func withTimeout(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ProbeTimedOut()
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}
