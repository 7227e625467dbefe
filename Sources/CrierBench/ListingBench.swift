import ArgumentParser
import CrierCore
import CrierStorage
import CrierTestSupport
import Foundation
import NIOHTTP1

/// `crier-bench listing`: getCampaigns through the API for one user among many, on a database
/// holding about a million message rows.
struct ListingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listing", abstract: "getCampaigns of one user in a database of a million message rows.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Users in the database, each with the same campaigns.") var users = 1_000
    @Option(help: "Active campaigns of each user.") var campaigns = 20
    @Option(help: "Messages per campaign (daily countdown days).") var messagesPerCampaign = 50
    @Option(help: "Requests timed per run.") var requests = 500
    @Option(help: "postgres://… to run on PostgreSQL; a SQLite file otherwise.") var database: String?

    func run() async throws {
        let (users, messagesPerCampaign, requests) = common.quick ? (10, 5, 20) : (self.users, self.messagesPerCampaign, self.requests)
        let campaigns = campaigns
        let report = BenchReport(
            scenario: "listing",
            parameters: [
                ("users", String(users)), ("campaignsPerUser", String(campaigns)),
                ("messagesPerCampaign", String(messagesPerCampaign)), ("requests", String(requests)),
                ("store", database == nil ? "sqlite" : "postgres"),
            ],
            figures: [
                Figure(key: "listP50", label: "getCampaigns p50", unit: "ms"),
                Figure(key: "listP99", label: "getCampaigns p99", unit: "ms", target: .atMost(10)),
                Figure(key: "listMax", label: "getCampaigns max", unit: "ms"),
                Figure(key: "readP50", label: "getCampaign with its messages p50", unit: "ms"),
                Figure(key: "readP99", label: "getCampaign with its messages p99", unit: "ms"),
                Figure(key: "rows", label: "message rows", unit: "rows"),
                Figure(key: "seedSeconds", label: "seeding (not measured)", unit: "s"),
            ])
        let database = database
        try await common.measure(into: report) {
            let seeded = ContinuousClock.now
            return try await APIBench.measuring(postgres: database, clients: 1) { database, measured in
                try await Self.seed(database.store, measured: measured, users: users, campaigns: campaigns, days: messagesPerCampaign)
            } _: { bench in
                let seedSeconds = (ContinuousClock.now - seeded).seconds
                let list = try await bench.timed(count: requests, clients: 1, expecting: .ok) { _ in
                    bench.request(.GET, "/api/campaigns")
                }
                let page = try await bench.database.store.campaigns(
                    ownerId: bench.account.user.id, listing: .active, limit: 1, cursor: nil, includeMessages: false)
                guard let first = page.campaigns.first?.id else { throw BenchError("the measured user has no campaign") }
                let read = try await bench.timed(count: requests, clients: 1, expecting: .ok) { _ in
                    bench.request(.GET, "/api/campaigns/\(first)")
                }
                var figures = list.latency.figures("list").merging(read.latency.figures("read")) { first, _ in first }
                figures["rows"] = Double(users * campaigns * messagesPerCampaign)
                figures["seedSeconds"] = seedSeconds
                return figures
            }
        }
    }

    /// `users` accounts (the measured one among them) with `campaigns` daily campaigns of `days`
    /// messages each, one transaction per user.
    static func seed(_ store: any Store, measured: BenchAccount, users: Int, campaigns: Int, days: Int) async throws {
        let now = Date()
        let end = LocalDate(iso: "2031-01-01").map { $0.adding(days: days - 1).description } ?? "2031-01-01"
        for index in 0..<users {
            let account = index == 0
                ? measured : try await BenchAccount.create(in: store, email: "user\(index)@example.com", sessions: 1, at: now)
            let session = account.sessions[0]
            let (settings, messages) = try Fixtures.plannedCampaign(sessionId: session.id, start: "2031-01-01", end: end, now: now)
            let batch = (0..<campaigns).map { _ in NewCampaign(settings: settings, messages: messages) }
            _ = try await store.createCampaigns(ownerId: account.user.id, sessionIdOrName: session.id, batch, at: now)
        }
    }
}
