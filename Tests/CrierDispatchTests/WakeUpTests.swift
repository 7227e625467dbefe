import CrierCore
import CrierDispatch
import CrierStorage
import CrierTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Waking the dispatcher")
struct WakeUpTests {
    @Test("signals before a wait are kept: the soonest instant, and 'look now' over any instant")
    func signalsMerge() async {
        let signal = WakeUpSignal()
        let early = Date(iso: "2030-01-01T09:00:00Z")
        signal.signal(dueAt: early.addingTimeInterval(60))
        signal.signal(dueAt: early)
        #expect(await signal.wait(timeout: .seconds(5)) == .dueAt(early))
        signal.signal(dueAt: early)
        signal.signal()
        #expect(await signal.wait(timeout: .seconds(5)) == .lookNow)
        #expect(await signal.wait(timeout: .milliseconds(20)) == .timedOut, "nothing left over")
    }

    @Test("a waiting dispatcher is woken with the signal's instant")
    func wakesTheWaiter() async throws {
        let signal = WakeUpSignal()
        let due = Date(iso: "2030-01-01T09:00:00Z")
        async let wake = signal.wait(timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(50))
        signal.signal(dueAt: due)
        #expect(await wake == .dueAt(due))
    }

    @Test("a campaign created for later does not make the running dispatcher look now; one due now is sent")
    func laterChangesCostNoLook() async throws {
        let claims = CountingDispatchStore.Count()
        try await DispatchHarness.with(dispatchStore: { CountingDispatchStore($0, claims: claims) }, { $0.recheckInterval = 30 }) { h in
            _ = try await h.store.registerSession(name: "s1", ownerId: h.user.id, at: h.clock.now())
            try await whileRunning(h.dispatcher) {
                #expect(try await eventually { claims.value >= 1 }, "the first pass")
                try await Task.sleep(for: .milliseconds(100))  // the dispatcher is now waiting, for 30 s
                let before = claims.value
                var later = Fixtures.campaignInput(sessionId: "s1", start: "2030-01-02", end: "2030-01-02", time: "09:00")
                later.isFreeForm = true
                _ = try await h.campaigns.create(later, for: h.user)
                try await Task.sleep(for: .milliseconds(300))
                #expect(claims.value == before, "tomorrow's message is past its next look: no claim now")

                var now = Fixtures.campaignInput(sessionId: "s1", start: "2030-01-01", end: "2030-01-01", time: "08:00")
                now.isFreeForm = true
                _ = try await h.campaigns.create(now, for: h.user)
                #expect(try await eventually { h.double.recorded.count == 1 })
                #expect(claims.value > before)
            }
        }
    }
}

/// A dispatch store that counts claim passes.
struct CountingDispatchStore: DispatchStore {
    final class Count: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func add() { count.withLock { $0 += 1 } }
    }

    let base: any DispatchStore
    let claims: Count

    init(_ base: any DispatchStore, claims: Count) {
        self.base = base
        self.claims = claims
    }

    var changes: any ChangeFeed { base.changes }

    func claimDueMessages(now: Date, limit: Int, owner: String, leaseUntil: Date) async throws -> [ClaimedMessage] {
        claims.add()
        return try await base.claimDueMessages(now: now, limit: limit, owner: owner, leaseUntil: leaseUntil)
    }

    func renewClaims(owner: String, until: Date) async throws { try await base.renewClaims(owner: owner, until: until) }
    func recordOutcomes(_ records: [OutcomeRecord]) async throws -> [Bool] { try await base.recordOutcomes(records) }
    func recordReservedMessageIds(_ reservations: [MessageIdReservation]) async throws -> [Bool] {
        try await base.recordReservedMessageIds(reservations)
    }
    func releaseClaims(_ claims: [ClaimedMessage], owner: String) async throws {
        try await base.releaseClaims(claims, owner: owner)
    }
    func recoverExpiredClaims(now: Date, reconcileAfter: TimeInterval) async throws -> Int {
        try await base.recoverExpiredClaims(now: now, reconcileAfter: reconcileAfter)
    }
    func markMissed(scheduledBefore cutoff: Date, reason: String, now: Date) async throws -> Int {
        try await base.markMissed(scheduledBefore: cutoff, reason: reason, now: now)
    }
    func nextDueAt() async throws -> Date? { try await base.nextDueAt() }
    func recordWebhookEvent(id: String, now: Date, retention: TimeInterval) async throws -> Bool {
        try await base.recordWebhookEvent(id: id, now: now, retention: retention)
    }
    func recordAck(session: String, rawMessageId: String, level: AckLevel, at: Date) async throws -> Bool {
        try await base.recordAck(session: session, rawMessageId: rawMessageId, level: level, at: at)
    }
    func recordSessionStatus(name: String, status: String, at: Date) async throws {
        try await base.recordSessionStatus(name: name, status: status, at: at)
    }
}
