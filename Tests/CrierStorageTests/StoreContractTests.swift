import CrierCore
import CrierTestSupport
import Foundation
import GRDB
import Synchronization
import Testing

@testable import CrierStorage

/// A fresh store of one back end, and what the contract tests build on it.
struct ContractFixture {
    let store: any StoreTestSeam
    let now = Date(iso: "2026-11-25T10:00:00Z")

    init(_ backend: TestBackend, quota: UserQuota = .unlimited) async throws {
        store = try await backend.makeStore(quota: quota)
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

    /// A user's three-day campaign, every message claimed by `p1` at the last one's instant (30-s lease).
    func claimedCampaign() async throws -> (due: Date, claims: [ClaimedMessage]) {
        _ = try await makeCampaign(owner: try await makeUser())
        let due = Date(iso: "2030-03-03T09:30:00Z")
        let claims = try await store.claimDueMessages(now: due, limit: 3, owner: "p1", leaseUntil: due.addingTimeInterval(30))
        try #require(claims.count == 3)
        return (due, claims)
    }

    /// Marks one message of the campaign with a status, as the dispatcher would.
    func setStatus(_ status: MessageStatus, campaignId: String, occurrence: Int = 0) async throws {
        try await store.forceStatus(status, campaignId: campaignId, occurrence: occurrence)
    }
}

/// The behaviour every Store back end must share: each test runs on SQLite, and on PostgreSQL when
/// `CRIER_TEST_POSTGRES_URL` is set.
@Suite("Store contract")
struct StoreContractTests {

    @Test("receipts: one that beats the send's reply is kept and applied; they only move forward; per session", arguments: TestBackend.available)
    func receipts(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let owner = try await c.makeUser()
        let campaign = try await c.makeCampaign(owner: owner)
        let due = Date(iso: "2030-03-01T09:30:00Z")
        let claim = try #require(
            try await c.store.claimDueMessages(now: due, limit: 1, owner: "p1", leaseUntil: due.addingTimeInterval(30)).first)
        let session = claim.sessionName
        let delivered = due.addingTimeInterval(2)
        // The DEVICE receipt arrives before the send is recorded: nothing to apply it to yet.
        #expect(try await c.store.recordAck(session: session, rawMessageId: "3EB0AA", level: .device, at: delivered) == false)
        // The same raw id through another session is not this message's.
        _ = try await c.store.recordAck(session: "someone-else", rawMessageId: "3EB0AA", level: .read, at: delivered)
        let log = AttemptLog(startedAt: due, finishedAt: due.addingTimeInterval(1), outcome: .sent, gatewayStatus: 201,
                             reason: nil, attempted: true)
        #expect(try await c.store.recordOutcome(
            claim, .sent(gatewayMessageId: GatewayMessageId(full: "true_1@g.us_3EB0AA", raw: "3EB0AA")), log: log))
        func message() async throws -> StoredMessage? {
            try await c.store.campaign(id: campaign, ownerId: owner.id)?.messages?.first
        }
        #expect(try await message()?.deliveredAt == delivered, "the early receipt was applied")
        #expect(try await message()?.readAt == nil, "another session's receipt was not")

        let read = delivered.addingTimeInterval(60)
        #expect(try await c.store.recordAck(session: session, rawMessageId: "3EB0AA", level: .read, at: read))
        #expect(try await c.store.recordAck(session: session, rawMessageId: "3EB0AA", level: .server, at: read) == false)
        _ = try await c.store.recordAck(session: session, rawMessageId: "3EB0AA", level: .device, at: read.addingTimeInterval(60))
        #expect(try await message()?.deliveredAt == delivered, "the first delivery is kept")
        #expect(try await message()?.readAt == read)
    }

    @Test("a receipt never puts a time before the one it follows: delivered not before sent, read not before delivered",
          arguments: TestBackend.available)
    func receiptsNeverGoBack(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let owner = try await c.makeUser()
        let campaign = try await c.makeCampaign(owner: owner)
        let due = Date(iso: "2030-03-01T09:30:00Z")
        let claim = try #require(
            try await c.store.claimDueMessages(now: due, limit: 1, owner: "p1", leaseUntil: due.addingTimeInterval(30)).first)
        let sentAt = due.addingTimeInterval(1)
        let log = AttemptLog(startedAt: due, finishedAt: sentAt, outcome: .sent, gatewayStatus: 201, reason: nil, attempted: true)
        #expect(try await c.store.recordOutcome(
            claim, .sent(gatewayMessageId: GatewayMessageId(full: "true_1@g.us_3EB0BB", raw: "3EB0BB")), log: log))
        func message() async throws -> StoredMessage? {
            try await c.store.campaign(id: campaign, ownerId: owner.id)?.messages?.first
        }
        let stored = try #require(try await message()?.sentAt)
        // Dated a second before the send (inside the clock skew allowed): delivered at the send, not before it.
        #expect(try await c.store.recordAck(session: claim.sessionName, rawMessageId: "3EB0BB", level: .device, at: stored - 1))
        #expect(try await message()?.deliveredAt == stored)
        // A read receipt dated before that delivery: read at the delivery, never before it.
        #expect(try await c.store.recordAck(session: claim.sessionName, rawMessageId: "3EB0BB", level: .read, at: stored - 0.5))
        let read = try #require(try await message())
        #expect(try #require(read.readAt) >= #require(read.deliveredAt))
    }

    @Test("quota: creates and edits beyond what a user may keep are refused and store nothing; deleting frees a campaign",
          arguments: TestBackend.available)
    func quota(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend, quota: UserQuota(campaigns: 2, messages: 8, bytes: 1 << 20))
        let owner = try await c.makeUser()
        let first = try await c.makeCampaign(owner: owner)  // three messages
        _ = try await c.makeCampaign(owner: owner, start: "2030-04-01", end: "2030-04-02")  // two
        await #expect(throws: DomainError.self) { try await c.makeCampaign(owner: owner, start: "2030-05-01", end: "2030-05-01") }
        do {
            _ = try await c.makeCampaign(owner: owner, start: "2030-05-01", end: "2030-05-01")
        } catch let error as DomainError {
            #expect(error.code == "quota_campaigns")
        }
        try await c.store.deleteCampaign(campaignId: first, ownerId: owner.id, at: c.now)
        // A campaign slot is free again; the five stored messages still count: two more fit, four do not.
        do {
            _ = try await c.makeCampaign(owner: owner, start: "2030-06-01", end: "2030-06-04")
            Issue.record("nine messages passed a quota of eight")
        } catch let error as DomainError {
            #expect(error.code == "quota_messages")
        }
        let third = try await c.makeCampaign(owner: owner, start: "2030-06-01", end: "2030-06-02")
        let page = try await c.store.campaigns(ownerId: owner.id, listing: .active, limit: 10, cursor: nil, includeMessages: false)
        #expect(page.campaigns.count == 2, "the refused creates stored nothing")
        // An edit adds its new schedule: the eighth message fits, a ninth is refused.
        let session = try #require(try await c.store.sessions(ownerId: owner.id).first)
        let (settings, messages) = try Fixtures.plannedCampaign(sessionId: session.id, start: "2030-07-01", end: "2030-07-01")
        try await c.store.replaceSchedule(campaignId: third, ownerId: owner.id, settings: settings, messages: messages, at: c.now)
        await #expect(throws: DomainError.self) {
            try await c.store.replaceSchedule(campaignId: third, ownerId: owner.id, settings: settings, messages: messages, at: c.now)
        }
        let other = try await c.makeUser("bob@example.com")
        _ = try await c.makeCampaign(owner: other)
        _ = try await c.makeCampaign(owner: other, start: "2030-04-01", end: "2030-04-02")
    }

    @Test(arguments: TestBackend.available)
    func migrateTwiceIsHarmless(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        try await c.store.migrate()
        try await c.store.ping()
    }

    @Test(arguments: TestBackend.available)
    func usersAndTokens(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let user = try await c.makeUser()
        #expect(try await c.store.userCount() == 1)
        #expect(try await c.store.user(email: "ADA@example.com")?.id == user.id, "emails match case-insensitively")
        await #expect(throws: DomainError.emailTaken) { try await c.makeUser("Ada@Example.com") }
        let tokenId = try await c.store.addAPIToken(userId: user.id, label: "ci", tokenHash: APIToken.hash("secret"), at: c.now)
        #expect(try await c.store.user(apiTokenHash: APIToken.hash("secret"), at: c.now)?.email == "ada@example.com")
        #expect(try await c.store.user(apiTokenHash: APIToken.hash("other"), at: c.now) == nil)
        let listed = try await c.store.apiTokens(userId: user.id)
        #expect(listed.map(\.id) == [tokenId])
        #expect(listed.first?.lastUsedAt == c.now, "the use is noted")
        #expect(listed.first?.label == "ci")
        #expect(tokenId.count == 16, "a random public id, not a row number")
        #expect(try await c.store.revokeAPIToken(id: tokenId, userId: user.id + 1) == false, "another user cannot revoke it")
        #expect(try await c.store.revokeAPIToken(id: tokenId, userId: user.id))
        #expect(try await c.store.user(apiTokenHash: APIToken.hash("secret"), at: c.now) == nil, "revoked at once")
        #expect(try await c.store.users().map(\.email) == ["ada@example.com"])
    }

    @Test func tokensAreRandomAndHashed() {
        let token = APIToken.generate()
        #expect(token.hasPrefix("crier_") && token.count == 70)
        #expect(token != APIToken.generate())
        #expect(APIToken.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test(arguments: TestBackend.available)
    func sessionsBelongToOneUser(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let bob = try await c.makeUser("bob@example.com")
        let (session, created) = try await c.store.registerSession(name: "main", ownerId: ada.id, at: c.now)
        #expect(created)
        let again = try await c.store.registerSession(name: "main", ownerId: ada.id, at: c.now)
        #expect(again.session == session && !again.created)
        await #expect(throws: DomainError.sessionNameTaken) {
            try await c.store.registerSession(name: "main", ownerId: bob.id, at: c.now)
        }
        #expect(try await c.store.session(idOrName: session.id, ownerId: ada.id) == session)
        #expect(try await c.store.session(idOrName: "main", ownerId: ada.id) == session)
        #expect(try await c.store.session(idOrName: "main", ownerId: bob.id) == nil)
        #expect(try await c.store.sessions(ownerId: bob.id).isEmpty)
    }

    @Test(arguments: TestBackend.available)
    func createdCampaignReadsBackWithItsMessages(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let id = try await c.makeCampaign(owner: ada)
        let campaign = try #require(try await c.store.campaign(id: id, ownerId: ada.id))
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

    @Test(arguments: TestBackend.available)
    func anotherUsersCampaignIsInvisible(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let bob = try await c.makeUser("bob@example.com")
        let id = try await c.makeCampaign(owner: ada)
        #expect(try await c.store.campaign(id: id, ownerId: bob.id) == nil)
        let (settings, messages) = try Fixtures.plannedCampaign()
        await #expect(throws: DomainError.campaignNotFound) {
            try await c.store.replaceSchedule(campaignId: id, ownerId: bob.id, settings: settings, messages: messages, at: c.now)
        }
        await #expect(throws: DomainError.campaignNotFound) {
            try await c.store.deleteCampaign(campaignId: id, ownerId: bob.id, at: c.now)
        }
        let list = try await c.store.campaigns(ownerId: bob.id, listing: .active, limit: 10, cursor: nil, includeMessages: false)
        #expect(list.campaigns.isEmpty)
        #expect(try await c.store.campaign(id: id, ownerId: ada.id)?.tally[.pending] == 3, "untouched")
    }

    @Test(arguments: TestBackend.available)
    func activeAndCompletedListsSplitOnOpenMessages(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let first = try await c.makeCampaign(owner: ada, start: "2030-01-01", end: "2030-01-01")
        let second = try await c.makeCampaign(owner: ada)
        try await c.setStatus(.sent, campaignId: first)
        let active = try await c.store.campaigns(ownerId: ada.id, listing: .active, limit: 10, cursor: nil, includeMessages: false)
        let completed = try await c.store.campaigns(ownerId: ada.id, listing: .completed, limit: 10, cursor: nil, includeMessages: true)
        #expect(active.campaigns.map(\.id) == [second])
        #expect(active.campaigns.first?.messages == nil)
        #expect(completed.campaigns.map(\.id) == [first])
        #expect(completed.campaigns.first?.status == .completed)
        #expect(completed.campaigns.first?.messages?.count == 1)
    }

    @Test(arguments: TestBackend.available)
    func listsAreNewestFirstAndPaged(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await c.makeCampaign(owner: ada)) }
        let page1 = try await c.store.campaigns(ownerId: ada.id, listing: .active, limit: 2, cursor: nil, includeMessages: false)
        let page2 = try await c.store.campaigns(ownerId: ada.id, listing: .active, limit: 2, cursor: page1.nextCursor, includeMessages: false)
        let page3 = try await c.store.campaigns(ownerId: ada.id, listing: .active, limit: 2, cursor: page2.nextCursor, includeMessages: false)
        #expect((page1.campaigns + page2.campaigns + page3.campaigns).map(\.id) == ids.reversed())
        #expect(page3.nextCursor == nil)
    }

    @Test(arguments: TestBackend.available)
    func replacingTheScheduleCancelsOldMessages(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let id = try await c.makeCampaign(owner: ada)
        let before = try #require(try await c.store.campaign(id: id, ownerId: ada.id))
        let (settings, messages) = try Fixtures.plannedCampaign(sessionId: before.session.id, start: "2030-03-01", end: "2030-03-05")
        try await c.store.replaceSchedule(campaignId: id, ownerId: ada.id, settings: settings, messages: messages, at: c.now)
        let after = try #require(try await c.store.campaign(id: id, ownerId: ada.id))
        #expect(after.tally[.pending] == 5)
        #expect(after.messages?.count == 5)
        #expect(after.settings.schedule.endDate.description == "2030-03-05")
        let cancelled = try await c.store.messageCount(status: .cancelled)
        #expect(cancelled == 3, "the old schedule stays, cancelled, for the audit trail")
    }

    @Test("editing is refused once a message is sent or being sent", arguments: TestBackend.available, [MessageStatus.sent, .sending])
    func replacingAfterSendingIsRefused(_ backend: TestBackend, _ status: MessageStatus) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let id = try await c.makeCampaign(owner: ada)
        try await c.setStatus(status, campaignId: id)
        let (settings, messages) = try Fixtures.plannedCampaign()
        await #expect(throws: DomainError.campaignAlreadySent) {
            try await c.store.replaceSchedule(campaignId: id, ownerId: ada.id, settings: settings, messages: messages, at: c.now)
        }
        let campaign = try #require(try await c.store.campaign(id: id, ownerId: ada.id))
        #expect(campaign.tally[.pending] == 2 && campaign.tally[status] == 1, "nothing changed")
    }

    @Test(arguments: TestBackend.available)
    func deletingCancelsPendingButLetsASendFinish(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let id = try await c.makeCampaign(owner: ada)
        try await c.setStatus(.sending, campaignId: id)
        try await c.store.deleteCampaign(campaignId: id, ownerId: ada.id, at: c.now)
        try await c.store.deleteCampaign(campaignId: id, ownerId: ada.id, at: c.now)  // twice is fine
        let campaign = try #require(try await c.store.campaign(id: id, ownerId: ada.id))
        #expect(campaign.status == .cancelled)
        #expect(campaign.tally[.cancelled] == 2 && campaign.tally[.sending] == 1)
        #expect(campaign.messages?.first(where: { $0.status == .cancelled })?.failedReason == "Campaign was deleted")
        for listing in [CampaignListing.active, .completed] {
            let list = try await c.store.campaigns(ownerId: ada.id, listing: listing, limit: 10, cursor: nil, includeMessages: false)
            #expect(list.campaigns.isEmpty)
        }
        let (settings, messages) = try Fixtures.plannedCampaign()
        await #expect(throws: DomainError.campaignDeleted) {
            try await c.store.replaceSchedule(campaignId: id, ownerId: ada.id, settings: settings, messages: messages, at: c.now)
        }
    }

    @Test("one message row per (campaign, schedule, occurrence): a duplicate rolls the whole create back", arguments: TestBackend.available)
    func occurrenceIsUnique(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let session = try await c.store.registerSession(name: "main", ownerId: ada.id, at: c.now).session
        let (settings, messages) = try Fixtures.plannedCampaign(sessionId: session.id)
        await #expect(throws: (any Error).self) {
            try await c.store.createCampaign(
                ownerId: ada.id, session: session, settings: settings, messages: messages + [messages[0]], at: c.now)
        }
        let count = try await c.store.campaignCount()
        #expect(count == 0)
    }
}

extension StoreContractTests {
    @Test("accounts: approval, revocation ends web sessions and tokens, deletion takes everything", arguments: TestBackend.available)
    func accessAndWebSessions(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let pending = try await c.store.createUser(
            email: "new@example.com", name: nil, passwordHash: "x", isAdmin: false, access: .pending, at: c.now)
        #expect(try await c.store.user(publicId: pending.publicId)?.access == .pending)
        #expect(try await c.store.passwordHash(userId: ada.id) == "x")
        let expires = c.now.addingTimeInterval(3600)
        try await c.store.createWebSession(userId: ada.id, tokenHash: "h1", expiresAt: expires, at: c.now)
        #expect(try await c.store.user(webSessionHash: "h1", at: c.now)?.id == ada.id)
        #expect(try await c.store.user(webSessionHash: "h1", at: expires) == nil, "expired")
        #expect(try await c.store.user(webSessionHash: "h2", at: c.now) == nil)
        _ = try await c.store.addAPIToken(userId: ada.id, label: nil, tokenHash: "t1", at: c.now)

        #expect(try await c.store.setAccess(.revoked, userId: ada.id))
        #expect(try await c.store.user(webSessionHash: "h1", at: c.now) == nil)
        #expect(try await c.store.user(apiTokenHash: "t1", at: c.now) == nil)
        #expect(try await c.store.setAccess(.active, userId: ada.id))
        #expect(try await c.store.user(apiTokenHash: "t1", at: c.now)?.id == ada.id, "tokens come back with access")
        #expect(try await c.store.user(webSessionHash: "h1", at: c.now) == nil, "sign-ins do not")
        try await c.store.createWebSession(userId: ada.id, tokenHash: "h3", expiresAt: expires, at: c.now)
        try await c.store.deleteWebSession(tokenHash: "h3")
        #expect(try await c.store.user(webSessionHash: "h3", at: c.now) == nil)
        #expect(try await c.store.setAccess(.active, userId: 9_999) == false)

        let campaign = try await c.makeCampaign(owner: ada)
        try await c.store.deleteUser(userId: ada.id)
        #expect(try await c.store.user(email: "ada@example.com") == nil)
        #expect(try await c.store.campaign(id: campaign, ownerId: ada.id) == nil)
        #expect(try await c.store.campaignCount() == 0)
        #expect(try await c.store.messageCount(status: .pending) == 0)
        #expect(try await c.store.users().map(\.email) == ["new@example.com"])
    }

    @Test("several campaigns are created together or not at all", arguments: TestBackend.available)
    func createManyIsAllOrNothing(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let session = try await c.store.registerSession(name: "main", ownerId: ada.id, at: c.now).session
        let (settings, messages) = try Fixtures.plannedCampaign(sessionId: session.id)
        let good = NewCampaign(settings: settings, messages: messages)
        let ids = try await c.store.createCampaigns(ownerId: ada.id, sessionIdOrName: session.id, [good, good], at: c.now)
        #expect(ids.count == 2 && Set(ids).count == 2)
        await #expect(throws: (any Error).self) {
            try await c.store.createCampaigns(
                ownerId: ada.id, sessionIdOrName: session.id, [good, NewCampaign(settings: settings, messages: messages + [messages[0]])],
                at: c.now)
        }
        #expect(try await c.store.campaignCount() == 2)
    }

    @Test("a create names its session by public id or gateway name, and only the owner's", arguments: TestBackend.available)
    func createNamesItsSession(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let bob = try await c.makeUser("bob@example.com")
        let adas = try await c.store.registerSession(name: "main", ownerId: ada.id, at: c.now).session
        let bobs = try await c.store.registerSession(name: "bobs", ownerId: bob.id, at: c.now).session
        let (settings, messages) = try Fixtures.plannedCampaign(sessionId: adas.id)
        let campaign = NewCampaign(settings: settings, messages: messages)
        for name in [adas.id, "main"] {
            let ids = try await c.store.createCampaigns(ownerId: ada.id, sessionIdOrName: name, [campaign], at: c.now)
            #expect(try await c.store.campaign(id: ids[0], ownerId: ada.id)?.session == adas)
        }
        for name in [bobs.id, "bobs", "nope"] {
            await #expect(throws: DomainError.sessionNotFound) {
                try await c.store.createCampaigns(ownerId: ada.id, sessionIdOrName: name, [campaign], at: c.now)
            }
        }
        #expect(try await c.store.campaignCount() == 2)
    }

    /// SQLite writes a schedule's rows 64, 32, … at a time: every count must come back whole and in order.
    @Test("every planned message is stored as planned, whatever the count", arguments: TestBackend.available)
    func everyMessageStored(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        let session = try await c.store.registerSession(name: "main", ownerId: ada.id, at: c.now).session
        for (end, count) in [("2030-03-01", 1), ("2030-05-02", 63), ("2030-05-03", 64), ("2031-02-28", 365)] {
            let (settings, planned) = try Fixtures.plannedCampaign(sessionId: session.id, end: end, now: c.now)
            #expect(planned.count == count)
            let id = try await c.store.createCampaign(
                ownerId: ada.id, session: session, settings: settings, messages: planned, at: c.now)
            let stored = try #require(try await c.store.campaign(id: id, ownerId: ada.id)?.messages)
            #expect(stored.map(\.occurrenceIndex) == planned.map(\.occurrenceIndex))
            #expect(stored.map(\.occurrenceDate) == planned.map(\.occurrenceDate))
            #expect(stored.map(\.scheduledAt) == planned.map(\.scheduledAt))
            #expect(stored.map(\.content) == planned.map(\.content))
            #expect(stored.allSatisfy { $0.status == .pending })
            #expect(Set(stored.map(\.publicId)).count == count)
        }
    }

    @Test("concurrent claimers never get the same message; an old claim's outcome is fenced out", arguments: TestBackend.available)
    func claimsAreExclusiveAndFenced(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let ada = try await c.makeUser()
        for _ in 0..<10 { _ = try await c.makeCampaign(owner: ada) }
        let due = Date(iso: "2030-03-10T00:00:00Z")
        let claims = try await withThrowingTaskGroup(of: [ClaimedMessage].self) { group in
            for worker in 0..<6 {
                group.addTask {
                    try await c.store.claimDueMessages(
                        now: due, limit: 4, owner: "w\(worker)", leaseUntil: due.addingTimeInterval(30))
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(claims.count == 24 && Set(claims.map(\.id)).count == 24, "no message claimed twice")
        let rest = try await c.store.claimDueMessages(now: due, limit: 100, owner: "w9", leaseUntil: due.addingTimeInterval(30))
        #expect(rest.count == 6)

        let first = try #require(claims.first)
        #expect(try await c.store.recoverExpiredClaims(now: due.addingTimeInterval(31), reconcileAfter: 35) == 30)
        let log = AttemptLog(startedAt: due, finishedAt: due, outcome: .sent, gatewayStatus: 201, reason: nil, attempted: true)
        #expect(try await c.store.recordOutcome(first, .sent(gatewayMessageId: nil), log: log) == false, "fenced out")
        let internals = try #require(try await c.store.internals(ofMessage: first.id))
        #expect(internals.needsReconcile && internals.leaseOwner == nil && internals.claimToken == first.claimToken)
        #expect(internals.nextAttemptAt == due.addingTimeInterval(35), "asked about only once a late send can no longer land")
        #expect(try await c.store.leasedMessageCount() == 0)
    }
}

extension StoreContractTests {
    @Test("instances migrating at once apply each migration once", arguments: TestBackend.available)
    func concurrentMigrations(_ backend: TestBackend) async throws {
        let location = try await backend.makeDatabaseLocation()
        defer { TestBackend.removeDatabase(at: location) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await TestBackend.openStore(at: location) } }
            try await group.waitForAll()
        }
        let store = try await TestBackend.openStore(at: location)
        _ = try await store.createUser(email: "a@b.c", name: nil, passwordHash: "x", isAdmin: false, at: Date())
        #expect(try await store.userCount() == 1)
    }

    @Test("the change feed reaches this process's followers, and with PostgreSQL every instance's", arguments: TestBackend.available)
    func changeFeed(_ backend: TestBackend) async throws {
        let location = try await backend.makeDatabaseLocation()
        defer { TestBackend.removeDatabase(at: location) }
        let here = try await TestBackend.openStore(at: location)
        let elsewhere = try await TestBackend.openStore(at: location)
        let heard = Heard()
        let follower = Task { await here.changes.follow { change in heard.withLock { $0.append(change) } } }
        defer { follower.cancel() }
        func waitFor(_ count: Int) async throws {
            for _ in 0..<200 where heard.withLock({ $0.count }) < count {
                // Announced until heard: a follower that is still subscribing misses the first ones.
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        let due = Date(iso: "2030-03-01T09:30:00Z")
        for _ in 0..<40 where heard.withLock({ $0.isEmpty }) {
            await here.changes.announce(.scheduleChanged(earliestDue: due))
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(heard.withLock { $0.first } == .scheduleChanged(earliestDue: due))
        guard backend == .postgres else { return }
        for change in [StoreChange.sessionRecovered, .scheduleChanged(earliestDue: nil), .scheduleChanged(earliestDue: due)] {
            let before = heard.withLock { $0.count }
            await elsewhere.changes.announce(change)
            try await waitFor(before + 1)
            #expect(heard.withLock { $0.last } == change, "another instance's announcement arrives, with its due instant")
        }
    }

    @Test("a change travels as text and back; other text is no change", arguments: [
        (StoreChange.sessionRecovered, "session"), (.scheduleChanged(earliestDue: nil), "schedule"),
        (.scheduleChanged(earliestDue: Date(millis: 1_893_488_400_123)), "schedule@1893488400123"),
    ])
    func changePayloads(_ change: StoreChange, _ payload: String) {
        #expect(change.payload == payload)
        #expect(StoreChange(payload: payload) == change)
        #expect(StoreChange(payload: "schedule@soon") == nil)
        #expect(StoreChange(payload: "") == nil)
    }
}

/// What a follower heard.
final class Heard: Sendable {
    private let changes = Mutex<[StoreChange]>([])
    func withLock<T: Sendable>(_ body: (inout [StoreChange]) -> T) -> T { changes.withLock { body(&$0) } }
}

@Suite("SQLite specifics")
struct SQLiteSpecificTests {
    @Test("listing queries walk indexes, not tables")
    func listingUsesIndexes() async throws {
        let plan = try await SQLiteStoreProbe.fresh().writer.read { db in
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

extension SQLiteFileTests {
    /// Point reads (token, session) run on the caller's cooperative thread. Were they to wait for a
    /// reader of the pool, they could wait for one held by an async read whose task needs that very
    /// thread to finish: with every cooperative thread waiting, nothing would ever run again.
    @Test("point reads and pooled async reads, many at once, never wait for each other")
    func pointReadsBesideAsyncReads() async throws {
        try await Self.withAccount { store, user, _, now in
            // A hang here is the bug; end the run with a reason rather than leave CI waiting for it.
            let finished = Atomic(false)
            DispatchQueue.global().asyncAfter(deadline: .now() + 120) {
                if !finished.load(ordering: .acquiring) { fatalError("point reads and async reads deadlocked") }
            }
            let found = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<2_000 {
                    group.addTask {
                        if index.isMultiple(of: 2) {
                            return try await store.user(apiTokenHash: "digest", at: now)?.id == user.id
                        }
                        return try await store.sessions(ownerId: user.id).count == 1
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            finished.store(true, ordering: .releasing)
            #expect(found == 2_000)
        }
    }

    /// A point read decodes its row in place, from a statement left mid-read until its cursor goes.
    /// An open read would pin the WAL: no checkpoint could then empty it, and it would grow unbounded.
    @Test("a point read ends its read: a full checkpoint right after it completes")
    func pointReadsLeaveNoReadOpen() async throws {
        try await Self.withAccount { store, user, session, now in
            #expect(try await store.user(apiTokenHash: "digest", at: now)?.id == user.id)
            #expect(try await store.session(idOrName: "main", ownerId: user.id) == session)
            try await store.createWebSession(userId: user.id, tokenHash: "web", expiresAt: now + 60, at: now)
            #expect(try await store.user(webSessionHash: "web", at: now)?.id == user.id)
            let checkpoint = try await store.writer.writeWithoutTransaction { db in
                try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
            #expect(checkpoint?[0] == 0 as Int64, "a reader kept the WAL pinned: \(String(describing: checkpoint))")
        }
    }

    /// A migrated store in a file of its own, with a user, an API token whose hash is "digest" and a
    /// session named "main"; the files go when `body` returns.
    static func withAccount(_ body: (SQLiteStore, User, WhatsAppSession, Date) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crier-\(UUID()).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let now = Date(iso: "2026-11-25T10:00:00Z")
        let store = try SQLiteStore.open(path: path)
        try await store.migrate()
        let user = try await store.createUser(email: "a@b.c", name: nil, passwordHash: "x", isAdmin: false, at: now)
        _ = try await store.addAPIToken(userId: user.id, label: nil, tokenHash: "digest", at: now)
        let session = try await store.registerSession(name: "main", ownerId: user.id, at: now).session
        try await body(store, user, session, now)
    }
}

/// A migrated in-memory SQLite store, for what only SQLite has (query plans, files).
enum SQLiteStoreProbe {
    static func fresh() async throws -> SQLiteStore {
        let store = try SQLiteStore.inMemory()
        try await store.migrate()
        return store
    }
}

extension StoreContractTests {
    @Test("outcomes and reserved ids written in batches: one result per claim, fenced claims untouched", arguments: TestBackend.available)
    func batchedWrites(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let (due, claims) = try await c.claimedCampaign()
        let stale = ClaimedMessage(
            id: claims[1].id, claimToken: claims[1].claimToken - 1, attemptCount: 0, campaignId: claims[1].campaignId,
            sessionName: claims[1].sessionName, chatId: claims[1].chatId, content: claims[1].content,
            scheduledAt: claims[1].scheduledAt, needsReconcile: false, sendStartedAt: nil, lastError: nil)

        let reserved = try await c.store.recordReservedMessageIds([
            MessageIdReservation(claims[0], "3EB0A0"), MessageIdReservation(stale, "3EB0A1"),
            MessageIdReservation(claims[2], "3EB0A2"),
        ])
        #expect(reserved == [true, false, true])
        #expect(try await c.store.internals(ofMessage: claims[0].id)?.reservedMessageId == "3EB0A0")
        #expect(try await c.store.internals(ofMessage: claims[1].id)?.reservedMessageId == nil, "a stale claim writes nothing")

        let log = AttemptLog(startedAt: due, finishedAt: due.addingTimeInterval(1), outcome: .sent, gatewayStatus: 201,
                             reason: nil, attempted: true)
        let retry = AttemptLog(startedAt: due, finishedAt: due.addingTimeInterval(1), outcome: .retry, gatewayStatus: 500,
                               reason: "boom", attempted: true)
        let applied = try await c.store.recordOutcomes([
            OutcomeRecord(claims[0], .sent(gatewayMessageId: GatewayMessageId(full: "true_g_3EB0A0", raw: "3EB0A0")), log: log),
            OutcomeRecord(stale, .sent(gatewayMessageId: nil), log: log),
            OutcomeRecord(claims[2], .retry(at: due.addingTimeInterval(60), reason: "boom", needsReconcile: false,
                                             sendStartedAt: nil), log: retry),
        ])
        #expect(applied == [true, false, true])
        #expect(try await c.store.internals(ofMessage: claims[0].id)?.gatewayRawId == "3EB0A0")
        #expect(try await c.store.internals(ofMessage: claims[1].id)?.leaseOwner == "p1", "still claimed: fenced out")
        #expect(try await c.store.internals(ofMessage: claims[2].id)?.nextAttemptAt == due.addingTimeInterval(60))
        #expect(try await c.store.messageCount(status: .sent) == 1)
        #expect(try await c.store.attemptCount(outcome: .sent) == 1)
        #expect(try await c.store.attemptCount(outcome: .retry) == 1)
        #expect(try await c.store.recordOutcomes([]).isEmpty)
        #expect(try await c.store.recordReservedMessageIds([]).isEmpty)
    }
}

extension StoreContractTests {
    @Test("marking missed: pending messages past the window, with their last error; not one that may have gone out", arguments: TestBackend.available)
    func markingMissed(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let owner = try await c.makeUser()
        let campaignId = try await c.makeCampaign(owner: owner)
        let first = Date(iso: "2030-03-01T09:30:00Z")
        let claims = try await c.store.claimDueMessages(now: first, limit: 5, owner: "p1", leaseUntil: first.addingTimeInterval(30))
        try #require(claims.count == 1)
        let log = AttemptLog(startedAt: first, finishedAt: first, outcome: .retry, gatewayStatus: 500, reason: "boom",
                             attempted: true)
        // The first may have gone out: it is asked about, never marked missed blindly.
        try #require(try await c.store.recordOutcomes([
            OutcomeRecord(claims[0], .retry(at: first.addingTimeInterval(60), reason: "boom", needsReconcile: true,
                                             sendStartedAt: first), log: log),
        ]) == [true])

        let cutoff = Date(iso: "2030-03-02T12:00:00Z")  // past the second occurrence, before the third
        let missed = try await c.store.markMissed(scheduledBefore: cutoff, reason: "Not sent in time: ",
                                                   now: cutoff.addingTimeInterval(3600))
        #expect(missed == 1)
        let messages = try #require(try await c.store.campaign(id: campaignId, ownerId: owner.id)?.messages)
        #expect(messages.map(\.status) == [.pending, .missed, .pending])
        #expect(messages[1].failedReason?.hasPrefix("Not sent in time: ") == true, "\(messages[1].failedReason ?? "")")
        #expect(try await c.store.attemptCount(outcome: .missed) == 1)
    }

    @Test("marking missed walks the due index, not the table")
    func markingMissedUsesTheDueIndex() async throws {
        let plan = try await SQLiteStoreProbe.fresh().writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    EXPLAIN QUERY PLAN SELECT id FROM messages WHERE status = 'pending' AND staged = 1 AND next_attempt_at <= 1
                    AND needs_reconcile = 0 AND scheduled_at < 1
                    """
            ).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("messages_due") }, "\(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(plan)")
    }
}

extension StoreContractTests {
    @Test("renewing leaves out the claims it is told to, which then run out and are recovered", arguments: TestBackend.available)
    func renewalLeavesOut(_ backend: TestBackend) async throws {
        let c = try await ContractFixture(backend)
        let (due, claims) = try await c.claimedCampaign()
        try await c.store.renewClaims(owner: "p1", until: due.addingTimeInterval(60), except: [claims[1].id])
        let later = due.addingTimeInterval(45)  // past the first lease, within the renewed one
        #expect(try await c.store.recoverExpiredClaims(now: later, reconcileAfter: 35) == 1)
        #expect(try await c.store.internals(ofMessage: claims[1].id)?.leaseOwner == nil, "left out: recovered")
        #expect(try await c.store.internals(ofMessage: claims[1].id)?.needsReconcile == true)
        #expect(try await c.store.internals(ofMessage: claims[0].id)?.leaseOwner == "p1", "renewed: still held")
        try await c.store.renewClaims(owner: "p1", until: due.addingTimeInterval(120), except: [])
        #expect(try await c.store.recoverExpiredClaims(now: due.addingTimeInterval(90), reconcileAfter: 35) == 0)
    }
}
