import CrierCore
import CrierDispatch
import CrierGateway
import CrierStorage
import CrierTestSupport
import Foundation
import Logging
import ServiceLifecycle
import GRDB
import Testing

/// Runs the dispatcher as a service for the duration of `body`, then shuts it down gracefully.
func whileRunning(_ dispatcher: Dispatcher, _ body: () async throws -> Void) async throws {
    var logger = Logger(label: "service-group")
    logger.logLevel = .critical
    let group = ServiceGroup(configuration: .init(services: [dispatcher], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// Polls `condition` (real time) until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

@Suite("Dispatcher under concurrency")
struct ConcurrencyTests {
    @Test("a claim whose process died is recovered after its lease, reconciled, and its late outcome is fenced out")
    func leaseRecoveryAndFencing() async throws {
        try await DispatchHarness.with { h in
            let id = try await h.schedule()
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            // Another process claims the message and dies holding it.
            let dead = try await h.store.claimDueMessages(
                now: h.clock.now(), limit: 10, owner: "dead-process", leaseUntil: h.clock.now().addingTimeInterval(30))
            #expect(dead.count == 1)
            await h.dispatcher.dispatchDue()
            #expect(try await h.message(id).status == .sending, "a live lease is respected")

            h.clock.advance(by: 31)
            await h.dispatcher.dispatchDue()
            #expect(try await h.message(id).status == .pending, "recovered, but not asked before the send could complete")
            h.clock.advance(by: 5)  // 36 s after the claim: past the 35 s reconcile delay
            await h.dispatcher.dispatchDue()
            let message = try await h.message(id)
            #expect(message.status == .sent)
            #expect(h.double.recorded.count == 1)
            #expect(message.attempts.map(\.outcome.rawValue) == ["lease_expired", "sent"])
            #expect(h.metricsText().contains("crier_claims_recovered_total 1"))

            let late = try await h.store.recordOutcome(
                dead[0], .failed(reason: "late"),
                log: AttemptLog(startedAt: h.clock.now(), finishedAt: h.clock.now(), outcome: .failed, gatewayStatus: nil,
                                reason: "late", attempted: true))
            #expect(!late, "the dead process's outcome no longer counts")
            #expect(try await h.message(id).status == .sent)
        }
    }

    @Test("a recovered claim that did go out before the crash is found, not resent")
    func recoveredClaimAlreadySent() async throws {
        try await DispatchHarness.with { h in
            let id = try await h.schedule()
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            let dead = try await h.store.claimDueMessages(
                now: h.clock.now(), limit: 10, owner: "dead-process", leaseUntil: h.clock.now().addingTimeInterval(30))
            // It reached the gateway just before the process was killed.
            let gateway = WAHAClient(baseURL: h.double.baseURL, apiKey: "key")
            _ = try await gateway.sendText(OutgoingText(session: "s1", chatId: dead[0].chatId, text: dead[0].content))
            h.clock.advance(by: 31)
            await h.dispatcher.dispatchDue()  // recovered; asked 35 s after the claim
            h.clock.advance(by: 5)
            await h.dispatcher.dispatchDue()
            #expect(try await h.message(id).status == .sent)
            #expect(h.double.recorded.count == 1)
        }
    }

    @Test("pacing: one session's sends are spaced by the gap while different sessions send in parallel")
    func pacing() async throws {
        try await DispatchHarness.with({ $0.sendGap = 0.3...0.3 }) { h in
            for session in ["a", "b", "c"] {
                for minute in 0..<3 { try await h.schedule(session: session, time: "09:0\(minute)") }
            }
            h.clock.set(Date(iso: "2030-01-01T09:05:00Z"))
            await h.dispatcher.dispatchDue()
            let recorded = h.double.recorded
            #expect(recorded.count == 9)
            for session in ["a", "b", "c"] {
                let arrivals = recorded.filter { $0.session == session }.map(\.arrivedAt)
                for (earlier, later) in zip(arrivals, arrivals.dropFirst()) {
                    #expect(later - earlier >= .milliseconds(290), "session \(session) paced")
                }
            }
            // In parallel, every session's first send arrives before any session's second one.
            #expect(Set(recorded.prefix(3).map(\.session)) == ["a", "b", "c"])
            #expect(h.metricsText().contains("crier_dispatch_pacing_delay_seconds_count 6"))
        }
    }

    @Test("at most max-in-flight gateway requests are open at once")
    func maxInFlight() async throws {
        try await DispatchHarness.with({ $0.maxInFlight = 2 }) { h in
            h.double.setLatency(.milliseconds(200))
            for session in 0..<6 { try await h.schedule(session: "s\(session)") }
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            await h.dispatcher.dispatchDue()
            #expect(h.double.recorded.count == 6)
            #expect(h.double.maxConcurrentSends == 2)
        }
    }

    @Test("the running dispatcher wakes on a campaign change instead of waiting for its re-check")
    func wakesOnChange() async throws {
        try await DispatchHarness.with({ $0.recheckInterval = 30 }) { h in
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            try await whileRunning(h.dispatcher) {
                try await Task.sleep(for: .milliseconds(100))  // the dispatcher is now waiting
                _ = try await h.store.registerSession(name: "s1", ownerId: h.user.id, at: h.clock.now())
                var input = Fixtures.campaignInput(sessionId: "s1", start: "2030-01-01", end: "2030-01-01", time: "09:00")
                input.isFreeForm = true
                _ = try await h.campaigns.create(input, for: h.user)
                // The test clock stands still, so the re-check would come 30 real seconds later: a send
                // within 20 can only come from the change waking the dispatcher.
                #expect(try await eventually(timeout: .seconds(20)) { h.double.recorded.count == 1 })
            }
        }
    }

    @Test("deleting or updating a campaign while the dispatcher runs never sends a cancelled message")
    func cancelledNeverSent() async throws {
        try await DispatchHarness.with { h in
            let deleted = try await h.schedule(session: "s1", days: 3, template: "deleted {days_left}")
            let updated = try await h.schedule(session: "s2", days: 3, template: "old {days_left}")
            try await whileRunning(h.dispatcher) {
                try await h.campaigns.delete(id: deleted, for: h.user)
                var input = Fixtures.campaignInput(sessionId: "s2", start: "2030-01-01", end: "2030-01-03", time: "09:00")
                input.messageTemplate = "new {days_left}"
                input.isFreeForm = true
                try await h.campaigns.update(id: updated, with: input, for: h.user)
                for day in ["2030-01-01", "2030-01-02", "2030-01-03"] {
                    h.clock.set(Date(iso: "\(day)T09:00:00Z"))
                    h.wakeUp.signal()
                    let count = h.double.recorded.count
                    #expect(try await eventually { h.double.recorded.count == count + 1 })
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(h.double.recorded.map(\.text) == ["new 2", "new 1", "new 0"])
            #expect(try await h.messages(deleted).allSatisfy { $0.status == .cancelled })
        }
    }

    @Test("graceful shutdown: in-flight sends finish, queued claims are released, nothing is left claimed")
    func gracefulShutdown() async throws {
        try await DispatchHarness.with({ $0.sendGap = 1...1 }) { h in
            h.double.setLatency(.milliseconds(250))  // under the harness's 1 s send timeout
            var ids: [String] = []
            for session in ["a", "b"] {
                for minute in 0..<3 { ids.append(try await h.schedule(session: session, time: "09:0\(minute)")) }
            }
            h.clock.set(Date(iso: "2030-01-01T09:05:00Z"))
            try await whileRunning(h.dispatcher) { () async throws in
                #expect(try await eventually { h.double.sendRequests == 2 })  // one in flight per session
            }
            var statuses: [MessageStatus] = []
            for id in ids { statuses.append(try await h.message(id).status) }
            #expect(!statuses.contains(.sending), "\(statuses)")
            #expect(statuses.filter { $0 == .sent }.count == h.double.recorded.count)
            #expect(h.double.recorded.count >= 2, "the in-flight sends finished")
            #expect(statuses.filter { $0 == .pending }.count == 6 - h.double.recorded.count)
            #expect(try await h.store.leasedMessageCount() == 0)
        }
    }
}
