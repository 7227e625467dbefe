import ArgumentParser
import CrierCore
import CrierDispatch
import CrierGateway
import CrierService
import CrierStorage
import GRDB
import CrierTestSupport
import Foundation
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// Measures dispatch: many messages due at one instant across many sessions, sent through the WAHA
/// double by the real dispatcher on a SQLite file. Figures go in BENCHMARKS.md.
@main
struct CrierBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crier-bench", abstract: "Crier's benchmarks; figures go in BENCHMARKS.md.",
        subcommands: [DispatchBench.self, ListingBench.self])
}

/// A migrated SQLite store in a fresh temporary folder, and a raw reader on the same file for the
/// figures the Store API does not expose.
struct BenchDatabase {
    let directory: URL
    let store: SQLiteStore
    let reader: DatabasePool

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("crier-bench-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("bench.sqlite").path
        store = try SQLiteStore.open(path: path)
        reader = try DatabasePool(path: path)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// Median of a non-empty list.
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

struct DispatchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch", abstract: "Dispatch throughput and lateness against the WAHA double.")

    @Option(help: "Messages due at the same instant.") var messages = 10_000
    @Option(help: "WhatsApp sessions they are spread over.") var sessions = 1_000
    @Option(help: "Latency the WAHA double adds to each send, in milliseconds.") var latencyMs = 20
    @Option(help: "Gateway requests open at once.") var maxInFlight = 100
    @Option(help: "How many runs (each on a fresh database); medians are reported.") var runs = 3
    @Option(help: "Which WAHA engine the double answers as: gows, noweb or webjs.") var engine = "gows"
    @Option(help: "Fraction of sends WAHA completes only after the client timed out (e.g. 0.1).")
    var lateCompletions = 0.0
    @Option(help: "postgres://… to run on PostgreSQL (each run in a new schema); SQLite in a temporary file otherwise.")
    var database: String?
    @Option(help: "Dispatchers sharing the database, each with its own store and connection pool (PostgreSQL only).")
    var instances = 1

    func validate() throws {
        guard instances >= 1, instances == 1 || database != nil else {
            throw ValidationError("--instances above 1 needs --database postgres://…")
        }
        guard ["gows", "noweb", "webjs"].contains(engine) else { throw ValidationError("--engine: gows, noweb or webjs") }
        guard (0...1).contains(lateCompletions) else { throw ValidationError("--late-completions: a fraction from 0 to 1") }
    }

    func run() async throws {
        var results: [Result] = []
        for run in 1...runs {
            let result = try await measure()
            print(String(format: "run %d: %@", run, result.line))
            results.append(result)
        }
        print(String(
            format: "median of %d runs: %.0f messages/s, lateness p50 %.3f s, p99 %.3f s, max %.3f s (setup %.1f s); "
                + "PostgreSQL CPU %.1f s",
            runs, median(results.map(\.throughput)), median(results.map(\.p50)), median(results.map(\.p99)),
            median(results.map(\.max)), median(results.map(\.setup)), median(results.map(\.databaseCPU))))
    }

    struct Result {
        let throughput: Double
        let p50: Double
        let p99: Double
        let max: Double
        let setup: Double
        /// Messages WAHA accepted more than once.
        let duplicates: Int
        let reconciled: Int
        let failed: Int
        /// CPU seconds the PostgreSQL server spent during dispatch (0 on SQLite).
        let databaseCPU: Double
        var line: String {
            String(format: "%.0f messages/s, lateness p50 %.3f s, p99 %.3f s, max %.3f s (setup %.1f s); "
                   + "%d duplicates, %d reconciled, %d failed; PostgreSQL CPU %.1f s",
                   throughput, p50, p99, max, setup, duplicates, reconciled, failed, databaseCPU)
        }
    }

    /// The stores the dispatchers use (one per instance) on one fresh database, and how to clean up.
    func openStores() async throws -> (stores: [any StoreTestSeam], remove: () -> Void) {
        guard let database else {
            let location = try await TestBackend.sqlite.makeDatabaseLocation()
            return ([try await TestBackend.openStore(at: location)], { TestBackend.removeDatabase(at: location) })
        }
        let url = try await TestBackend.freshPostgresURL(base: database)
        var stores: [any StoreTestSeam] = []
        for _ in 0..<instances { stores.append(try await TestBackend.openStore(at: url)) }
        return (stores, {})
    }

    func measure() async throws -> Result {
        let (stores, remove) = try await openStores()
        defer { remove() }
        let store = stores[0]

        let due = Date(timeIntervalSince1970: 1_893_488_400)  // 2030-01-01T09:00:00Z
        let setupStarted = ContinuousClock.now
        try await Fixtures.seedDueCampaigns(
            store: store, clock: ManualClock(due.addingTimeInterval(-3600)), count: messages, sessions: sessions,
            day: "2030-01-01", time: "09:00", textPrefix: "bench message")
        // Statistics as a long-lived database has them: autovacuum would otherwise analyse the new
        // tables in the middle of the burst (it did, halving PostgreSQL's figures at random).
        try await store.settle()
        let setup = ContinuousClock.now - setupStarted

        // The double stamps messages with the same clock as the dispatcher, as WAHA's and Crier's agree.
        let clock = RunningClock(startingAt: due)
        return try await WAHADouble.withRunning(clock: clock, everySessionWorking: true, checkingRequests: false) { double in
            double.setLatency(.milliseconds(latencyMs))
            double.setEngine(engine == "noweb" ? .noweb : engine == "webjs" ? .webjs : .gows)
            for session in 0..<sessions {  // as Crier creates them: NOWEB with its store on
                double.addSession(
                    "phone-\(session)", status: .working, config: ["noweb": ["store": ["enabled": true, "fullSync": false]]])
            }
            var configuration = DispatcherConfiguration()
            configuration.sendGap = 0...0
            configuration.maxInFlight = maxInFlight
            var sendTimeout = TimeAmount.seconds(30)
            if lateCompletions > 0 {
                // Every n-th send completes at WAHA only after the client gave up (1 s): the client then
                // asks, after the reconcile delay, whether it went out.
                let every = max(1, Int((1 / lateCompletions).rounded()))
                double.failNextSends((0..<messages).map { $0 % every == 0 ? .completesAfterTimeout : .ordinary })
                double.setHang(.milliseconds(1500))
                sendTimeout = .seconds(1)
                configuration.reconcileDelay = 2
                configuration.recheckInterval = 0.2
            }
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            let httpClient = WAHAClient.makeHTTPClient(maxConnections: maxInFlight * stores.count)
            let dispatchers = stores.map { store in
                Dispatcher(
                    store: store,
                    gateway: WAHAClient(baseURL: double.baseURL, apiKey: nil, httpClient: httpClient, sendTimeout: sendTimeout),
                    clock: clock,
                    configuration: configuration, health: GatewayHealth(),
                    metrics: DispatchMetrics(registry: PrometheusCollectorRegistry()), wakeUp: WakeUpSignal(), logger: logger)
            }
            let group = ServiceGroup(configuration: .init(services: dispatchers, logger: logger))
            let databaseCPUBefore = DatabaseServerCPU.seconds()
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                while try await store.messageCount(status: .pending) + store.messageCount(status: .sending) > 0 {
                    try await Task.sleep(for: .milliseconds(50))
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            let databaseCPU = DatabaseServerCPU.seconds() - databaseCPUBefore
            try await httpClient.shutdown()
            let lateness = try await Self.lateness(store).sorted()
            let failed = try await store.messageCount(status: .failed) + store.messageCount(status: .missed)
            let reconciled = try await store.attemptCount(outcome: .reconciled)
            let texts = double.recorded.map(\.text)
            let duplicates = texts.count - Set(texts).count
            guard lateness.count + failed == messages else {
                throw ValidationError(
                    "\(lateness.count) of \(messages) sent, \(failed) failed, \(Set(texts).count) distinct at the double")
            }
            let last = lateness.last ?? 0
            func percentile(_ p: Double) -> Double { lateness[min(lateness.count - 1, Int(Double(lateness.count) * p))] }
            return Result(
                throughput: Double(messages) / last, p50: percentile(0.5), p99: percentile(0.99), max: last,
                setup: Double(setup.components.seconds) + Double(setup.components.attoseconds) / 1e18,
                duplicates: duplicates, reconciled: reconciled, failed: failed, databaseCPU: databaseCPU)
        }
    }

    /// Seconds from due to sent of every sent message, read through the Store API (any back end).
    static func lateness(_ store: any StoreTestSeam) async throws -> [Double] {
        guard let owner = try await store.user(email: "ops@example.com") else { return [] }
        var lateness: [Double] = []
        var cursor: String?
        repeat {
            let page = try await store.campaigns(
                ownerId: owner.id, listing: .completed, limit: 500, cursor: cursor, includeMessages: true)
            for message in page.campaigns.flatMap({ $0.messages ?? [] }) {
                if let sentAt = message.sentAt { lateness.append(sentAt.timeIntervalSince(message.scheduledAt)) }
            }
            cursor = page.nextCursor
        } while cursor != nil
        return lateness
    }
}

/// CPU seconds used so far by every `postgres` process on this machine (the benchmark's database
/// server), read from /proc; 0 where there is none.
enum DatabaseServerCPU {
    static func seconds() -> Double {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var ticks = 0.0
        for pid in entries where pid.allSatisfy(\.isNumber) {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")"),
                stat[stat.index(after: open)..<close] == "postgres"
            else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            ticks += user + system
        }
        return ticks / ticksPerSecond
    }
}

/// Real time, but starting at a chosen instant: the messages fall due the moment dispatch starts.
final class RunningClock: WallClock {
    let start: Date
    let origin = ContinuousClock.now

    init(startingAt start: Date) { self.start = start }

    func now() -> Date {
        let elapsed = ContinuousClock.now - origin
        return start.addingTimeInterval(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
