import ArgumentParser
import CrierCore
import CrierStorage
import CrierTestSupport
import Foundation
import AsyncHTTPClient
import NIOHTTP1

/// `crier-bench dashboard`: the dashboard's campaign list and a campaign's page for a signed-in user
/// with 50 active campaigns (issue 21: p99 ≤ 50 ms of server time), and the live parts those pages
/// fetch again on every change.
struct DashboardBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard", abstract: "Dashboard pages of a user with 50 active campaigns.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Active campaigns of the user.") var campaigns = 50
    @Option(help: "Messages per campaign (daily countdown days).") var messagesPerCampaign = 60
    @Option(help: "Requests timed per page and run.") var requests = 300
    @Option(help: "postgres://… to run on PostgreSQL; a SQLite file otherwise.") var database: String?

    func run() async throws {
        let (campaigns, days, requests) = common.quick ? (5, 5, 20) : (self.campaigns, messagesPerCampaign, self.requests)
        let report = BenchReport(
            scenario: "dashboard",
            parameters: [
                ("campaigns", String(campaigns)), ("messagesPerCampaign", String(days)), ("requests", String(requests)),
                ("store", database == nil ? "sqlite" : "postgres"),
            ],
            figures: [
                Figure(key: "listP50", label: "campaign list page p50", unit: "ms"),
                Figure(key: "listP99", label: "campaign list page p99", unit: "ms", target: .atMost(50)),
                Figure(key: "liveListP99", label: "its live part (?fragment=list) p99", unit: "ms"),
                Figure(key: "pageP50", label: "a campaign's page p50", unit: "ms"),
                Figure(key: "pageP99", label: "a campaign's page p99", unit: "ms", target: .atMost(50)),
                Figure(key: "cpuPerList", label: "server CPU per list page", unit: "ms"),
            ])
        let database = database
        let cookie = APIToken.generate()
        try await common.measure(into: report) {
            try await APIBench.measuring(postgres: database, clients: 1) { database, measured in
                let now = Date()
                try await database.store.createWebSession(
                    userId: measured.user.id, tokenHash: APIToken.hash(cookie), expiresAt: now.addingTimeInterval(86_400), at: now)
                try await ListingBench.seed(database.store, measured: measured, users: 1, campaigns: campaigns, days: days)
            } _: { bench in
                func page(_ path: String) -> HTTPClientRequest {
                    var request = HTTPClientRequest(url: bench.server.baseURL + path)
                    request.method = .GET
                    request.headers.add(name: "Cookie", value: "crier_session=\(cookie)")
                    request.headers.add(name: "Accept", value: "text/html")
                    return request
                }
                let list = try await bench.timed(count: requests, clients: 1, expecting: .ok) { _ in page("/") }
                let live = try await bench.timed(count: requests, clients: 1, expecting: .ok) { _ in page("/?fragment=list&tab=active") }
                let first = try await bench.database.store.campaigns(
                    ownerId: bench.account.user.id, listing: .active, limit: 1, cursor: nil, includeMessages: false
                ).campaigns.first?.id
                guard let first else { throw BenchError("the user has no campaign") }
                let one = try await bench.timed(count: requests, clients: 1, expecting: .ok) { _ in page("/campaigns/\(first)") }
                var figures = list.latency.figures("list").merging(one.latency.figures("page")) { a, _ in a }
                figures["liveListP99"] = live.latency.figures("live")["liveP99"]
                figures["cpuPerList"] = list.serverCPU * 1000 / Double(requests)
                return figures
            }
        }
    }
}
