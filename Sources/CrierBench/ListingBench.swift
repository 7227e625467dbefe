import ArgumentParser
import CrierCore
import CrierStorage
import CrierTestSupport
import Foundation
import GRDB

/// getCampaigns and getCampaign on a SQLite file holding about a million message rows.
struct ListingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listing", abstract: "List and read campaigns with a million message rows stored.")

    @Option(help: "Campaigns of the measured user.") var campaigns = 1_000
    @Option(help: "Messages per campaign (daily countdown days).") var messagesPerCampaign = 1_000
    @Option(help: "Requests timed per operation; medians are reported.") var requests = 200

    func run() async throws {
        let database = try BenchDatabase()
        defer { database.remove() }
        let store = database.store
        try await store.migrate()
        let raw = database.reader  // for the bulk "sent" update and the row count

        let clock = ManualClock("2026-11-25T10:00:00Z")
        let user = try await store.createUser(email: "big@example.com", name: nil, passwordHash: "x", isAdmin: false, at: clock.now())
        let other = try await store.createUser(email: "small@example.com", name: nil, passwordHash: "x", isAdmin: false, at: clock.now())
        let session = try await store.registerSession(name: "big", ownerId: user.id, at: clock.now()).session
        let otherSession = try await store.registerSession(name: "small", ownerId: other.id, at: clock.now()).session
        let started = ContinuousClock.now
        let end = LocalDate(iso: "2027-01-01")!.adding(days: messagesPerCampaign - 1).description
        var ids: [String] = []
        for index in 0..<campaigns {
            let (settings, messages) = try Fixtures.plannedCampaign(
                sessionId: session.id, start: "2027-01-01", end: end, now: clock.now())
            ids.append(try await store.createCampaign(
                ownerId: user.id, session: session, settings: settings, messages: messages, at: clock.now()))
            if index % 2 == 1 {  // half of them finished: every message sent
                let id = ids.last!
                try await raw.write { db in
                    try db.execute(
                        sql: "UPDATE messages SET status = 'sent' WHERE campaign_id = (SELECT id FROM campaigns WHERE public_id = ?)",
                        arguments: [id])
                }
            }
        }
        for _ in 0..<5 {
            let (settings, messages) = try Fixtures.plannedCampaign(sessionId: otherSession.id, now: clock.now())
            _ = try await store.createCampaign(
                ownerId: other.id, session: otherSession, settings: settings, messages: messages, at: clock.now())
        }
        let rows = try await raw.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") ?? 0 }
        print(String(format: "seeded %d message rows in %.1f s", rows, seconds(ContinuousClock.now - started)))

        try await time("getCampaigns (active, limit 50)") {
            _ = try await store.campaigns(ownerId: user.id, listing: .active, limit: 50, cursor: nil, includeMessages: false)
        }
        try await time("getCompletedCampaigns (limit 50)") {
            _ = try await store.campaigns(ownerId: user.id, listing: .completed, limit: 50, cursor: nil, includeMessages: false)
        }
        try await time("getCampaigns of a user with 5 campaigns") {
            _ = try await store.campaigns(ownerId: other.id, listing: .active, limit: 50, cursor: nil, includeMessages: false)
        }
        try await time("getCampaign with its \(messagesPerCampaign) messages") {
            _ = try await store.campaign(id: ids[campaigns / 2], ownerId: user.id)
        }
    }

    private func time(_ name: String, _ operation: () async throws -> Void) async throws {
        var samples: [Double] = []
        for _ in 0..<requests {
            let start = ContinuousClock.now
            try await operation()
            samples.append(seconds(ContinuousClock.now - start) * 1000)
        }
        let sorted = samples.sorted()
        print(String(format: "%@: median %.2f ms, p99 %.2f ms", name, median(samples), sorted[Int(Double(sorted.count) * 0.99)]))
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
