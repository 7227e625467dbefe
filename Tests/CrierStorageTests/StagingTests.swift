import CrierCore
import CrierTestSupport
import Foundation
import GRDB
import Testing

@testable import CrierStorage

/// Messages created long before their instant (a SQLite store keeps them out of its due index until
/// they come near): the dispatcher must find them all the same, and not before their time.
@Suite("Messages due far ahead")
struct StagingTests {
    let first = Date(iso: "2030-03-01T09:30:00Z")
    let day: TimeInterval = 86_400

    @Test("claimed when due and not before, and named as the next due while still waiting", arguments: TestBackend.available)
    func claimedWhenDue(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)  // creates at 2026-11-25, over three years ahead
        _ = try await c.makeCampaign(owner: try await c.makeUser())
        #expect(try await c.store.nextDueAt() == first)
        let early = first.addingTimeInterval(-1)
        #expect(try await c.store.claimDueMessages(now: early, limit: 5, owner: "p1", leaseUntil: first).isEmpty)
        let claims = try await c.store.claimDueMessages(
            now: first, limit: 5, owner: "p1", leaseUntil: first.addingTimeInterval(30))
        #expect(claims.map(\.scheduledAt) == [first])
        #expect(try await c.store.nextDueAt() == first.addingTimeInterval(day))
    }

    @Test("after a long stop, marking missed finds messages that never came near while it was down", arguments: TestBackend.available)
    func missedAfterLongStop(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        _ = try await c.makeCampaign(owner: try await c.makeUser())
        let restart = first.addingTimeInterval(4 * day)
        let missed = try await c.store.markMissed(
            scheduledBefore: restart.addingTimeInterval(-3600), reason: "Not sent in time: ", now: restart)
        #expect(missed == 3)
        #expect(try await c.store.messageCount(status: .missed) == 3)
        #expect(try await c.store.nextDueAt() == nil)
    }

    @Test("an edited or deleted campaign's waiting messages are never claimed; the new schedule's are", arguments: TestBackend.available)
    func editedAndDeleted(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let bob = try await c.makeUser("bob@example.com")
        let deleted = try await c.makeCampaign(owner: ada)
        let edited = try await c.makeCampaign(owner: bob)
        try await c.store.deleteCampaign(campaignId: deleted, ownerId: ada.id, at: c.now)
        let session = try #require(try await c.store.campaign(id: edited, ownerId: bob.id)?.session)
        let (settings, messages) = try Fixtures.plannedCampaign(sessionId: session.id, start: "2030-04-01", end: "2030-04-01")
        try await c.store.replaceSchedule(campaignId: edited, ownerId: bob.id, settings: settings, messages: messages, at: c.now)

        let moved = try #require(messages.first?.scheduledAt)
        #expect(try await c.store.nextDueAt() == moved)
        let oldEnd = first.addingTimeInterval(3 * day)
        #expect(try await c.store.claimDueMessages(now: oldEnd, limit: 10, owner: "p1", leaseUntil: oldEnd).isEmpty)
        let claims = try await c.store.claimDueMessages(now: moved, limit: 10, owner: "p1", leaseUntil: moved.addingTimeInterval(30))
        #expect(claims.map(\.campaignId) == [edited])
    }

    @Test("only messages within the horizon go into the due index; the others join as their day nears")
    func dueIndexHoldsOnlyTheNear() async throws {
        let store = try await SQLiteStoreProbe.fresh()
        let user = try await store.createUser(email: "ada@example.com", name: "Ada", passwordHash: "x", isAdmin: false, at: first)
        let session = try await store.registerSession(name: "s", ownerId: user.id, at: first).session
        let (settings, messages) = try Fixtures.plannedCampaign(sessionId: session.id)
        let createdAt = first.addingTimeInterval(-90 * 60)
        _ = try await store.createCampaign(ownerId: user.id, session: session, settings: settings, messages: messages, at: createdAt)
        #expect(try await Self.staging(store) == (staged: 1, unstagedFrom: first.addingTimeInterval(day).millis))

        // A pass five hours before the second message claims the first and stages the second.
        let pass = first.addingTimeInterval(day - 5 * 3600)
        #expect(try await store.claimDueMessages(now: pass, limit: 5, owner: "p1", leaseUntil: pass).count == 1)
        #expect(try await Self.staging(store) == (staged: 2, unstagedFrom: first.addingTimeInterval(2 * day).millis))
        #expect(try await store.nextDueAt() == first.addingTimeInterval(day))
    }

    @Test("one pass stages a bounded number of campaigns, through the campaigns' index; the rest stay named")
    func stagingIsBounded() async throws {
        let c = try await ContractFixture(.sqlite)
        for email in ["a@example.com", "b@example.com", "c@example.com"] {
            _ = try await c.makeCampaign(owner: try await c.makeUser(email))
        }
        let store = try #require(c.store as? SQLiteStore)
        let last = first.addingTimeInterval(2 * day)  // every message within the horizon
        try await store.writer.write { db in try SQLiteStore.stageUpcoming(now: last, limit: 2, db: db) }
        let waiting = try await store.writer.read { db in
            try Int64.fetchAll(db, sql: "SELECT unstaged_from FROM campaigns WHERE unstaged_from IS NOT NULL")
        }
        #expect(waiting == [first.millis], "one campaign left, still named from its first message")
        #expect(try await Self.staging(store).staged == 6)
        let claims = try await store.claimDueMessages(now: last, limit: 20, owner: "p1", leaseUntil: last)
        #expect(claims.count == 9, "the next pass stages the third campaign and claims it too")

        let plan = try await store.writer.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN SELECT id FROM campaigns WHERE unstaged_from <= 1 ORDER BY unstaged_from LIMIT 2"
            ).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("campaigns_unstaged") }, "\(plan)")
    }

    /// How many messages were staged (whatever became of them since), and the campaigns' first
    /// waiting instant.
    static func staging(_ store: SQLiteStore) async throws -> (staged: Int, unstagedFrom: Int64?) {
        try await store.writer.read { db in
            let staged = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE staged = 1") ?? 0
            let from = try Int64.fetchOne(db, sql: "SELECT MIN(unstaged_from) FROM campaigns")
            return (staged, from)
        }
    }
}
