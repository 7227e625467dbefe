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
        let observed = ObservedDispatchStore.Observations()
        try await DispatchHarness.with(dispatchStore: { ObservedDispatchStore($0, observed) }, { $0.recheckInterval = 30 }) { h in
            _ = try await h.store.registerSession(name: "s1", ownerId: h.user.id, at: h.clock.now())
            try await whileRunning(h.dispatcher) {
                #expect(try await eventually { observed.claimPasses >= 1 }, "the first pass")
                try await Task.sleep(for: .milliseconds(100))  // the dispatcher is now waiting, for 30 s
                let before = observed.claimPasses
                var later = Fixtures.campaignInput(sessionId: "s1", start: "2030-01-02", end: "2030-01-02", time: "09:00")
                later.isFreeForm = true
                _ = try await h.campaigns.create(later, for: h.user)
                try await Task.sleep(for: .milliseconds(300))
                #expect(observed.claimPasses == before, "tomorrow's message is past its next look: no claim now")

                var now = Fixtures.campaignInput(sessionId: "s1", start: "2030-01-01", end: "2030-01-01", time: "08:00")
                now.isFreeForm = true
                _ = try await h.campaigns.create(now, for: h.user)
                #expect(try await eventually { h.double.recorded.count == 1 })
                #expect(observed.claimPasses > before)
            }
        }
    }
}

@Suite("Outcomes that cannot be recorded")
struct UnrecordedOutcomeTests {
    @Test("a claim whose outcome could not be written is no longer renewed: its lease runs out for recovery")
    func unrecordedClaimsAreNotRenewed() async throws {
        let observed = ObservedDispatchStore.Observations(failsOutcomes: true)
        try await DispatchHarness.with(dispatchStore: { ObservedDispatchStore($0, observed) }, { $0.leaseDuration = 0.3 }) { h in
            let campaign = try await h.schedule(session: "s1", time: "09:00")
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            try await whileRunning(h.dispatcher) {
                #expect(try await eventually { h.double.recorded.count == 1 }, "sent, but its outcome is not stored")
                let id = try #require(try await h.messages(campaign).first?.id)
                #expect(try await eventually { observed.lastRenewalExcept.contains(id) }, "left out of renewals")
            }
        }
    }
}

/// A dispatch store that counts claim passes, notes what renewals leave out, and can refuse outcomes.
struct ObservedDispatchStore: DispatchStore, SessionStatusStore {
    final class Observations: Sendable {
        private struct State {
            var claimPasses = 0
            var lastRenewalExcept: [Int64] = []
        }
        private let state = Mutex(State())
        let failsOutcomes: Bool

        init(failsOutcomes: Bool = false) { self.failsOutcomes = failsOutcomes }

        var claimPasses: Int { state.withLock { $0.claimPasses } }
        var lastRenewalExcept: [Int64] { state.withLock { $0.lastRenewalExcept } }
        func claimed() { state.withLock { $0.claimPasses += 1 } }
        func renewed(except: [Int64]) { state.withLock { $0.lastRenewalExcept = except } }
    }

    struct RefusedWrite: Error {}

    let base: any DispatchStore & SessionStatusStore
    let observed: Observations

    init(_ base: any DispatchStore & SessionStatusStore, _ observed: Observations) {
        self.base = base
        self.observed = observed
    }

    var changes: any ChangeFeed { base.changes }

    func claimDueMessages(now: Date, limit: Int, owner: String, leaseUntil: Date) async throws -> [ClaimedMessage] {
        observed.claimed()
        return try await base.claimDueMessages(now: now, limit: limit, owner: owner, leaseUntil: leaseUntil)
    }

    func renewClaims(owner: String, until: Date, except: [Int64]) async throws {
        observed.renewed(except: except)
        try await base.renewClaims(owner: owner, until: until, except: except)
    }

    func recordOutcomes(_ records: [OutcomeRecord]) async throws -> [Bool] {
        if observed.failsOutcomes { throw RefusedWrite() }
        return try await base.recordOutcomes(records)
    }

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
    func recordSessionStatus(name: String, status: String) async throws {
        try await base.recordSessionStatus(name: name, status: status)
    }
}
