import CrierCore
import CrierTestSupport
import Foundation
import GRDB
import Testing

@testable import CrierStorage

/// The behaviour every Store back end must share.
@Suite("Store contract (SQLite)")
struct StoreContractTests {
    let store: SQLiteStore
    let now = Date(iso: "2026-11-25T10:00:00Z")

    init() async throws {
        store = try SQLiteStore.inMemory()
        try await store.migrate()
    }

    func makeUser(_ email: String = "ada@example.com") async throws -> User {
        try await store.createUser(email: email, name: "Ada", passwordHash: "x", isAdmin: false, at: now)
    }

    func makeCampaign(owner: User, start: String = "2030-03-01", end: String = "2030-03-03") async throws -> String {
        let session = try await store.registerSession(name: "s-\(owner.id)", ownerId: owner.id, at: now).session
        let (settings, messages) = try Fixtures.plannedCampaign(sessionId: session.id, start: start, end: end)
        return try await store.createCampaign(
            ownerId: owner.id, session: session, settings: settings, messages: messages, at: now)
    }

    /// Marks one message of the campaign with a status, as the dispatcher would.
    func setStatus(_ status: MessageStatus, campaignId: String, occurrence: Int = 0) async throws {
        try await store.writer.write { db in
            try db.execute(
                sql: """
                    UPDATE messages SET status = ? WHERE occurrence_index = ?
                    AND campaign_id = (SELECT id FROM campaigns WHERE public_id = ?)
                    """,
                arguments: [status.rawValue, occurrence, campaignId])
        }
    }

    @Test("receipts: one that beats the send's reply is kept and applied; they only move forward; per session")
    func receipts() async throws {
        let owner = try await makeUser()
        let campaign = try await makeCampaign(owner: owner)
        let due = Date(iso: "2030-03-01T09:30:00Z")
        let claim = try #require(
            try await store.claimDueMessages(now: due, limit: 1, owner: "p1", leaseUntil: due.addingTimeInterval(30)).first)
        let session = claim.sessionName
        let delivered = due.addingTimeInterval(2)
        // The DEVICE receipt arrives before the send is recorded: nothing to apply it to yet.
        #expect(try await store.recordAck(session: session, rawMessageId: "3EB0AA", level: .device, at: delivered) == false)
        // The same raw id through another session is not this message's.
        _ = try await store.recordAck(session: "someone-else", rawMessageId: "3EB0AA", level: .read, at: delivered)
        let log = AttemptLog(startedAt: due, finishedAt: due.addingTimeInterval(1), outcome: .sent, gatewayStatus: 201,
                             reason: nil, attempted: true)
        #expect(try await store.recordOutcome(
            claim, .sent(gatewayMessageId: GatewayMessageId(full: "true_1@g.us_3EB0AA", raw: "3EB0AA")), log: log))
        func message() async throws -> StoredMessage? {
            try await store.campaign(id: campaign, ownerId: owner.id)?.messages?.first
        }
        #expect(try await message()?.deliveredAt == delivered, "the early receipt was applied")
        #expect(try await message()?.readAt == nil, "another session's receipt was not")

        let read = delivered.addingTimeInterval(60)
        #expect(try await store.recordAck(session: session, rawMessageId: "3EB0AA", level: .read, at: read))
        #expect(try await store.recordAck(session: session, rawMessageId: "3EB0AA", level: .server, at: read) == false)
        _ = try await store.recordAck(session: session, rawMessageId: "3EB0AA", level: .device, at: read.addingTimeInterval(60))
        #expect(try await message()?.deliveredAt == delivered, "the first delivery is kept")
        #expect(try await message()?.readAt == read)
    }

    @Test func migrateTwiceIsHarmless() async throws {
        try await store.migrate()
        try await store.ping()
    }

    @Test func usersAndTokens() async throws {
        let user = try await makeUser()
        #expect(try await store.userCount() == 1)
        #expect(try await store.user(email: "ADA@example.com")?.id == user.id, "emails match case-insensitively")
        await #expect(throws: DomainError.emailTaken) { try await makeUser("Ada@Example.com") }
        let tokenId = try await store.addAPIToken(userId: user.id, label: "ci", tokenHash: APIToken.hash("secret"), at: now)
        #expect(try await store.user(apiTokenHash: APIToken.hash("secret"), at: now)?.email == "ada@example.com")
        #expect(try await store.user(apiTokenHash: APIToken.hash("other"), at: now) == nil)
        let listed = try await store.apiTokens(userId: user.id)
        #expect(listed.map(\.id) == [tokenId])
        #expect(listed.first?.lastUsedAt == now, "the use is noted")
        #expect(listed.first?.label == "ci")
        #expect(tokenId.count == 16, "a random public id, not a row number")
        #expect(try await store.revokeAPIToken(id: tokenId, userId: user.id + 1) == false, "another user cannot revoke it")
        #expect(try await store.revokeAPIToken(id: tokenId, userId: user.id))
        #expect(try await store.user(apiTokenHash: APIToken.hash("secret"), at: now) == nil, "revoked at once")
        #expect(try await store.users().map(\.email) == ["ada@example.com"])
    }

    @Test func tokensAreRandomAndHashed() {
        let token = APIToken.generate()
        #expect(token.hasPrefix("crier_") && token.count == 70)
        #expect(token != APIToken.generate())
        #expect(APIToken.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func sessionsBelongToOneUser() async throws {
        let ada = try await makeUser()
        let bob = try await makeUser("bob@example.com")
        let (session, created) = try await store.registerSession(name: "main", ownerId: ada.id, at: now)
        #expect(created)
        let again = try await store.registerSession(name: "main", ownerId: ada.id, at: now)
        #expect(again.session == session && !again.created)
        await #expect(throws: DomainError.sessionNameTaken) {
            try await store.registerSession(name: "main", ownerId: bob.id, at: now)
        }
        #expect(try await store.session(idOrName: session.id, ownerId: ada.id) == session)
        #expect(try await store.session(idOrName: "main", ownerId: ada.id) == session)
        #expect(try await store.session(idOrName: "main", ownerId: bob.id) == nil)
        #expect(try await store.sessions(ownerId: bob.id).isEmpty)
    }

    @Test func createdCampaignReadsBackWithItsMessages() async throws {
        let ada = try await makeUser()
        let id = try await makeCampaign(owner: ada)
        let campaign = try #require(try await store.campaign(id: id, ownerId: ada.id))
        #expect(campaign.status == .scheduled)
        #expect(campaign.tally[.pending] == 3)
        #expect(campaign.firstSendAt?.iso == "2030-03-01T09:30:00Z")
        #expect(campaign.nextSendAt?.iso == "2030-03-01T09:30:00Z")
        #expect(campaign.settings.title == "Roof fund")
        #expect(campaign.settings.schedule.endDate.description == "2030-03-03")
        let messages = try #require(campaign.messages)
        #expect(messages.map(\.scheduledAt.iso) == ["2030-03-01T09:30:00Z", "2030-03-02T09:30:00Z", "2030-03-03T09:30:00Z"])
        #expect(messages.allSatisfy { $0.status == .pending })
        #expect(messages.last?.content.hasSuffix("0 days left") == true)
    }

    @Test func anotherUsersCampaignIsInvisible() async throws {
        let ada = try await makeUser()
        let bob = try await makeUser("bob@example.com")
        let id = try await makeCampaign(owner: ada)
        #expect(try await store.campaign(id: id, ownerId: bob.id) == nil)
        let (settings, messages) = try Fixtures.plannedCampaign()
        await #expect(throws: DomainError.campaignNotFound) {
            try await store.replaceSchedule(campaignId: id, ownerId: bob.id, settings: settings, messages: messages, at: now)
        }
        await #expect(throws: DomainError.campaignNotFound) {
            try await store.deleteCampaign(campaignId: id, ownerId: bob.id, at: now)
        }
        let list = try await store.campaigns(ownerId: bob.id, listing: .active, limit: 10, cursor: nil, includeMessages: false)
        #expect(list.campaigns.isEmpty)
        #expect(try await store.campaign(id: id, ownerId: ada.id)?.tally[.pending] == 3, "untouched")
    }

    @Test func activeAndCompletedListsSplitOnOpenMessages() async throws {
        let ada = try await makeUser()
        let first = try await makeCampaign(owner: ada, start: "2030-01-01", end: "2030-01-01")
        let second = try await makeCampaign(owner: ada)
        try await setStatus(.sent, campaignId: first)
        let active = try await store.campaigns(ownerId: ada.id, listing: .active, limit: 10, cursor: nil, includeMessages: false)
        let completed = try await store.campaigns(ownerId: ada.id, listing: .completed, limit: 10, cursor: nil, includeMessages: true)
        #expect(active.campaigns.map(\.id) == [second])
        #expect(active.campaigns.first?.messages == nil)
        #expect(completed.campaigns.map(\.id) == [first])
        #expect(completed.campaigns.first?.status == .completed)
        #expect(completed.campaigns.first?.messages?.count == 1)
    }

    @Test func listsAreNewestFirstAndPaged() async throws {
        let ada = try await makeUser()
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await makeCampaign(owner: ada)) }
        let page1 = try await store.campaigns(ownerId: ada.id, listing: .active, limit: 2, cursor: nil, includeMessages: false)
        let page2 = try await store.campaigns(ownerId: ada.id, listing: .active, limit: 2, cursor: page1.nextCursor, includeMessages: false)
        let page3 = try await store.campaigns(ownerId: ada.id, listing: .active, limit: 2, cursor: page2.nextCursor, includeMessages: false)
        #expect((page1.campaigns + page2.campaigns + page3.campaigns).map(\.id) == ids.reversed())
        #expect(page3.nextCursor == nil)
    }

    @Test func replacingTheScheduleCancelsOldMessages() async throws {
        let ada = try await makeUser()
        let id = try await makeCampaign(owner: ada)
        let before = try #require(try await store.campaign(id: id, ownerId: ada.id))
        let (settings, messages) = try Fixtures.plannedCampaign(sessionId: before.session.id, start: "2030-03-01", end: "2030-03-05")
        try await store.replaceSchedule(campaignId: id, ownerId: ada.id, settings: settings, messages: messages, at: now)
        let after = try #require(try await store.campaign(id: id, ownerId: ada.id))
        #expect(after.tally[.pending] == 5)
        #expect(after.messages?.count == 5)
        #expect(after.settings.schedule.endDate.description == "2030-03-05")
        let cancelled = try await store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE status = 'cancelled'")
        }
        #expect(cancelled == 3, "the old schedule stays, cancelled, for the audit trail")
    }

    @Test("editing is refused once a message is sent or being sent", arguments: [MessageStatus.sent, .sending])
    func replacingAfterSendingIsRefused(_ status: MessageStatus) async throws {
        let ada = try await makeUser()
        let id = try await makeCampaign(owner: ada)
        try await setStatus(status, campaignId: id)
        let (settings, messages) = try Fixtures.plannedCampaign()
        await #expect(throws: DomainError.campaignAlreadySent) {
            try await store.replaceSchedule(campaignId: id, ownerId: ada.id, settings: settings, messages: messages, at: now)
        }
        let campaign = try #require(try await store.campaign(id: id, ownerId: ada.id))
        #expect(campaign.tally[.pending] == 2 && campaign.tally[status] == 1, "nothing changed")
    }

    @Test func deletingCancelsPendingButLetsASendFinish() async throws {
        let ada = try await makeUser()
        let id = try await makeCampaign(owner: ada)
        try await setStatus(.sending, campaignId: id)
        try await store.deleteCampaign(campaignId: id, ownerId: ada.id, at: now)
        try await store.deleteCampaign(campaignId: id, ownerId: ada.id, at: now)  // twice is fine
        let campaign = try #require(try await store.campaign(id: id, ownerId: ada.id))
        #expect(campaign.status == .cancelled)
        #expect(campaign.tally[.cancelled] == 2 && campaign.tally[.sending] == 1)
        #expect(campaign.messages?.first(where: { $0.status == .cancelled })?.failedReason == "Campaign was deleted")
        for listing in [CampaignListing.active, .completed] {
            let list = try await store.campaigns(ownerId: ada.id, listing: listing, limit: 10, cursor: nil, includeMessages: false)
            #expect(list.campaigns.isEmpty)
        }
        let (settings, messages) = try Fixtures.plannedCampaign()
        await #expect(throws: DomainError.campaignDeleted) {
            try await store.replaceSchedule(campaignId: id, ownerId: ada.id, settings: settings, messages: messages, at: now)
        }
    }

    @Test("one message row per (campaign, schedule, occurrence): a duplicate rolls the whole create back")
    func occurrenceIsUnique() async throws {
        let ada = try await makeUser()
        let session = try await store.registerSession(name: "main", ownerId: ada.id, at: now).session
        let (settings, messages) = try Fixtures.plannedCampaign(sessionId: session.id)
        await #expect(throws: (any Error).self) {
            try await store.createCampaign(
                ownerId: ada.id, session: session, settings: settings, messages: messages + [messages[0]], at: now)
        }
        let count = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM campaigns") }
        #expect(count == 0)
    }

    @Test("listing queries walk indexes, not tables")
    func listingUsesIndexes() async throws {
        let plan = try await store.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    EXPLAIN QUERY PLAN SELECT c.id FROM campaigns c WHERE c.owner_id = 1 AND c.deleted_at IS NULL
                    AND c.id < 100 AND EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = c.id
                    AND m.schedule_version = c.schedule_version AND m.status IN ('pending', 'sending'))
                    ORDER BY c.id DESC LIMIT 21
                    """
            ).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("campaigns_owner_newest") }, "\(plan)")
        #expect(plan.contains { $0.contains("messages_campaign_state") }, "\(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(plan)")
    }
}

@Suite("SQLite file persistence")
struct SQLiteFileTests {
    @Test func dataSurvivesReopening() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crier-\(UUID()).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let now = Date(iso: "2026-11-25T10:00:00Z")
        var id = ""
        do {
            let store = try SQLiteStore.open(path: path)
            try await store.migrate()
            let user = try await store.createUser(email: "a@b.c", name: nil, passwordHash: "x", isAdmin: true, at: now)
            let session = try await store.registerSession(name: "main", ownerId: user.id, at: now).session
            let (settings, messages) = try Fixtures.plannedCampaign(sessionId: session.id)
            id = try await store.createCampaign(ownerId: user.id, session: session, settings: settings, messages: messages, at: now)
        }
        let reopened = try SQLiteStore.open(path: path)
        try await reopened.migrate()
        let user = try #require(try await reopened.user(email: "a@b.c"))
        #expect(user.isAdmin)
        #expect(try await reopened.campaign(id: id, ownerId: user.id)?.messages?.count == 3)
        let journal = try await reopened.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }
}
