import ArgumentParser
import AsyncHTTPClient
import CrierCore
import CrierStorage
import CrierTestSupport
import Foundation
import NIOHTTP1
import NIOCore
import Synchronization

/// A server child on a fresh database with one seeded account, for the scenarios that time API
/// requests: the requests come from this process, the server's CPU and memory are read from its own.
struct APIBench: Sendable {
    let database: BenchDatabase
    let account: BenchAccount
    let double: DoubleProcess
    let server: ServerProcess
    let http: HTTPClient

    /// Starts everything; `seed` fills the database (beyond the account) before the server starts.
    static func start(
        postgres: String?, clients: Int, seed: (BenchDatabase, BenchAccount) async throws -> Void = { _, _ in }
    ) async throws -> APIBench {
        let database = try await BenchDatabase.fresh(postgres: postgres)
        let account = try await BenchAccount.create(in: database.store, email: "bench@example.com", sessions: 1, at: Date())
        try await seed(database, account)
        try await database.store.settle()
        let http = makeBenchHTTPClient(connections: clients)
        let double = try await DoubleProcess.start(latencyMs: 0, engine: .webjs, clockOffset: 0)
        do {
            let server = try await ServerProcess.start(database: database.location, wahaURL: double.baseURL, http: http)
            return APIBench(database: database, account: account, double: double, server: server, http: http)
        } catch {
            await double.stop()
            throw error
        }
    }

    func stop() async {
        await server.stop()
        await double.stop()
        try? await http.shutdown()
        database.remove()
    }

    /// Starts everything, runs `body`, and stops everything whether or not `body` succeeded.
    static func measuring(
        postgres: String?, clients: Int, seed: (BenchDatabase, BenchAccount) async throws -> Void = { _, _ in },
        _ body: (APIBench) async throws -> [String: Double]
    ) async throws -> [String: Double] {
        let bench = try await start(postgres: postgres, clients: clients, seed: seed)
        do {
            let figures = try await body(bench)
            await bench.stop()
            return figures
        } catch {
            await bench.stop()
            throw error
        }
    }

    /// Sends `count` requests from `clients` concurrent clients, each waiting for its answer before
    /// the next, and checks each answer's status. Returns their latencies, the wall time and the
    /// server's CPU seconds over the whole batch. The requests are built (their JSON encoded) before
    /// the clock starts: the clients share the server's two cores, and what they spend is not the
    /// server's work.
    func timed(
        count: Int, clients: Int, expecting status: HTTPResponseStatus, request: (Int) -> HTTPClientRequest
    ) async throws -> (latency: LatencyHistogram, wall: Double, serverCPU: Double) {
        let requests = (0..<count).map(request)
        let next = RequestCounter()
        let cpuBefore = server.readings.cpuSeconds
        let started = ContinuousClock.now
        let latency = try await withThrowingTaskGroup(of: LatencyHistogram.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var latency = LatencyHistogram()
                    while true {
                        let index = next.take()
                        guard index < count else { return latency }
                        let sent = ContinuousClock.now
                        let response = try await http.execute(requests[index], timeout: .seconds(30))
                        let body = try await response.body.collect(upTo: 16 << 20)
                        latency.record(ContinuousClock.now - sent)
                        guard response.status == status else {
                            throw BenchError("request \(index) answered \(response.status): \(String(buffer: body))")
                        }
                    }
                }
            }
            var all = LatencyHistogram()
            for try await part in group { all.add(part) }
            return all
        }
        return (latency, (ContinuousClock.now - started).seconds, server.readings.cpuSeconds - cpuBefore)
    }

    func request(_ method: HTTPMethod, _ path: String, json: [String: Any]? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: server.baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: account.authorization)
        if let json, let data = try? JSONSerialization.data(withJSONObject: json) {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        return request
    }

    /// Times `count` createCampaign requests of `days`-message campaigns from `clients` clients:
    /// latency figures and the server's CPU per create.
    func timedCreates(count: Int, clients: Int, days: Int) async throws -> (figures: [String: Double], wall: Double) {
        let result = try await timed(count: count, clients: clients, expecting: .created) { index in
            request(.POST, "/api/campaigns", json: campaignBody(title: "drive \(index)", start: "2031-01-01", days: days))
        }
        var figures = result.latency.figures("latency")
        figures["cpuPerCreate"] = result.serverCPU * 1000 / Double(count)
        return (figures, result.wall)
    }

    /// A createCampaign body: daily from `start` for `days` days at 09:00 UTC, or one message.
    func campaignBody(title: String, start: String, days: Int) -> [String: Any] {
        let end = LocalDate(iso: start).map { $0.adding(days: days - 1).description } ?? start
        return [
            "groupId": "120363025@g.us", "groupName": "Church choir", "sessionId": account.sessions[0].id,
            "title": title, "targetAmount": "KES 50,000", "startDate": start, "endDate": end, "messageTime": "09:00",
            "timeZone": "UTC", "messageTemplate": "{days_left} days left to the \(title)", "isRecurring": false,
        ]
    }
}

/// Hands out request numbers to concurrent clients.
final class RequestCounter: Sendable {
    private let next = Mutex(0)

    func take() -> Int {
        next.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}

extension LatencyHistogram {
    /// Latency figures in one dictionary, under `prefix`.
    func figures(_ prefix: String) -> [String: Double] {
        [prefix + "P50": p50, prefix + "P99": p99, prefix + "Max": maxMilliseconds]
    }
}

/// `crier-bench create`: many one-message campaigns created through the API by concurrent clients.
struct CreateBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "createCampaign of one-message campaigns from concurrent API clients.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Campaigns created.") var campaigns = 10_000
    @Option(help: "Concurrent API clients.") var clients = 16
    @Option(help: "postgres://… to run on PostgreSQL; a SQLite file otherwise.") var database: String?

    func run() async throws {
        let count = common.quick ? 200 : campaigns
        let report = BenchReport(
            scenario: "create",
            parameters: [("campaigns", String(count)), ("clients", String(clients)),
                         ("store", database == nil ? "sqlite" : "postgres")],
            figures: [
                Figure(key: "throughput", label: "creates", unit: "per s", target: .atLeast(5_000)),
                Figure(key: "cpuPerCreate", label: "server CPU per create", unit: "ms", target: .atMost(0.25)),
                Figure(key: "latencyP50", label: "latency p50", unit: "ms"),
                Figure(key: "latencyP99", label: "latency p99", unit: "ms", target: .atMost(10)),
                Figure(key: "latencyMax", label: "latency max", unit: "ms"),
                Figure(key: "peakResident", label: "server memory peak", unit: "MiB"),
            ])
        let (clients, database) = (clients, database)
        try await common.measure(into: report) {
            try await APIBench.measuring(postgres: database, clients: clients) { bench in
                var (figures, wall) = try await bench.timedCreates(count: count, clients: clients, days: 1)
                figures["throughput"] = Double(count) / wall
                figures["peakResident"] = bench.server.readings.peakResidentMiB
                return figures
            }
        }
    }
}

/// `crier-bench create-daily`: createCampaign of a daily countdown of a year, one request at a time.
struct CreateDailyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-daily", abstract: "createCampaign of a 365-message daily campaign, one request at a time.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Requests timed per run.") var requests = 200
    @Option(help: "Messages per campaign (days).") var days = 365
    @Option(help: "postgres://… to run on PostgreSQL; a SQLite file otherwise.") var database: String?

    func run() async throws {
        let count = common.quick ? 10 : requests
        let days = days
        let report = BenchReport(
            scenario: "create-daily",
            parameters: [("requests", String(count)), ("days", String(days)), ("store", database == nil ? "sqlite" : "postgres")],
            figures: [
                Figure(key: "latencyP50", label: "latency p50", unit: "ms", target: .atMost(3)),
                Figure(key: "latencyP99", label: "latency p99", unit: "ms"),
                Figure(key: "cpuPerCreate", label: "server CPU per create", unit: "ms"),
            ])
        let database = database
        try await common.measure(into: report) {
            try await APIBench.measuring(postgres: database, clients: 1) { bench in
                try await bench.timedCreates(count: count, clients: 1, days: days).figures
            }
        }
    }
}

/// `crier-bench preview`: previewCampaign of a campaign with the most occurrences allowed.
struct PreviewBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview", abstract: "previewCampaign of the longest daily campaign allowed, one request at a time.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Requests timed per run.") var requests = 200
    /// DESIGN allows 2,000 messages but a span of 5 years: a daily campaign has at most 1,827.
    @Option(help: "Occurrences (days) previewed; at most 1827, a daily campaign over the longest span allowed.")
    var occurrences = 1_827

    func validate() throws {
        guard (1...1_827).contains(occurrences) else { throw ValidationError("--occurrences: from 1 to 1827") }
    }

    func run() async throws {
        let count = common.quick ? 10 : requests
        let occurrences = occurrences
        let report = BenchReport(
            scenario: "preview", parameters: [("requests", String(count)), ("occurrences", String(occurrences))],
            figures: [
                Figure(key: "latencyP50", label: "latency p50", unit: "ms", target: .atMost(10)),
                Figure(key: "latencyP99", label: "latency p99", unit: "ms"),
                Figure(key: "cpuPerPreview", label: "server CPU per preview", unit: "ms"),
            ])
        try await common.measure(into: report) {
            try await APIBench.measuring(postgres: nil, clients: 1) { bench in
                let result = try await bench.timed(count: count, clients: 1, expecting: .ok) { _ in
                    bench.request(
                        .POST, "/api/campaigns/preview",
                        json: bench.campaignBody(title: "long drive", start: "2031-01-01", days: occurrences))
                }
                return result.latency.figures("latency").merging([
                    "cpuPerPreview": result.serverCPU * 1000 / Double(count)
                ]) { first, _ in first }
            }
        }
    }
}
