import ArgumentParser
import AsyncHTTPClient
import CrierStorage
import Foundation

/// Options the dispatch scenarios share.
struct DispatchOptions: ParsableArguments {
    @Option(help: "WhatsApp sessions the messages are spread over.") var sessions = 1_000
    @Option(help: "Latency the WAHA double adds to each send, in milliseconds.") var latencyMs = 20
    @Option(help: "Gateway requests each server keeps open at once.") var maxInFlight = 100
    @Option(help: "postgres://… to run on PostgreSQL (each run in a new schema); a SQLite file otherwise.")
    var database: String?
    @Option(help: "Server processes sharing the database (PostgreSQL only).") var instances = 1
    @Option(help: """
        The engine the WAHA double answers as: WEBJS (WAHA's default; one request per message) or GOWS/NOWEB \
        (which take a reserved id: two requests per message, the id's then the send's).
        """)
    var engine: BenchEngine = .webjs

    func validate() throws {
        guard instances >= 1, instances == 1 || database != nil else {
            throw ValidationError("--instances above 1 needs --database postgres://…")
        }
        guard sessions >= 1, latencyMs >= 0, maxInFlight >= 1 else {
            throw ValidationError("--sessions and --max-in-flight at least 1, --latency-ms at least 0")
        }
    }

    var parameters: [(String, String)] {
        [
            ("sessions", String(sessions)), ("latencyMs", String(latencyMs)), ("maxInFlight", String(maxInFlight)),
            ("store", database == nil ? "sqlite" : "postgres"), ("instances", String(instances)),
            ("engine", engine.rawValue),
        ]
    }
}

/// One dispatch run: a fresh database seeded with one-message campaigns due at the given instants,
/// the WAHA double and `instances` servers started as child processes on a clock that reaches the
/// first due instant a few seconds after they start, then measured until nothing is left to send.
///
/// Lateness is when each send request reached the double (the send's start, by the clock the server
/// and the double share) minus the message's `scheduledAt`. The servers' CPU and memory are read
/// from `/proc` for their processes alone; the double's CPU is reported apart.
struct DispatchRun {
    /// 2030-01-01T09:00:00Z: the first message falls due then, by the children's shifted clock.
    static let firstDue = Date(timeIntervalSince1970: 1_893_488_400)

    let options: DispatchOptions
    /// Seconds after `firstDue` at which message `i` falls due.
    let offsets: [TimeInterval]
    /// How long before the first due instant the children start: time to start and sit idle.
    let lead: TimeInterval

    /// `--quick` spreads over 20 sessions at most and gives the servers 15 s to start (CI runs it on a
    /// debug build); otherwise 4 s.
    init(options: DispatchOptions, offsets: [TimeInterval], quick: Bool) {
        var options = options
        if quick { options.sessions = min(options.sessions, 20) }
        self.options = options
        self.offsets = offsets
        lead = quick ? 15 : 4
    }

    func measure() async throws -> [String: Double] {
        let database = try await BenchDatabase.fresh(postgres: options.database)
        defer { database.remove() }
        let setupClock = Date(timeIntervalSince1970: Self.firstDue.timeIntervalSince1970 - 3600)
        let account = try await BenchAccount.create(
            in: database.store, email: "ops@example.com", sessions: options.sessions, at: setupClock)
        let due = offsets.map { Self.firstDue.addingTimeInterval($0) }
        try await account.seedOneMessageCampaigns(in: database.store, due: due, at: setupClock)
        // Statistics as a long-lived database has them: autovacuum would otherwise analyse the new
        // tables in the middle of the burst.
        try await database.store.settle()

        let http = makeBenchHTTPClient(connections: 4)
        let clockOffset = Self.firstDue.timeIntervalSince(Date()) - lead
        let clock = ShiftedClock(offset: clockOffset)
        let double: DoubleProcess
        do {
            double = try await DoubleProcess.start(
                latencyMs: options.latencyMs, engine: options.engine, clockOffset: clockOffset)
        } catch {
            try? await http.shutdown()
            throw error
        }
        var servers: [ServerProcess] = []
        do {
            for _ in 0..<options.instances {
                servers.append(try await ServerProcess.start(
                    database: database.location, wahaURL: double.baseURL, clockOffset: clockOffset,
                    maxInFlight: options.maxInFlight, http: http))
            }
            let figures = try await measureDispatch(
                database: database, servers: servers, double: double, due: due, clock: clock, http: http)
            for server in servers { await server.stop() }
            await double.stop()
            try await http.shutdown()
            return figures
        } catch {
            for server in servers { await server.stop() }
            await double.stop()
            try? await http.shutdown()
            throw error
        }
    }

    private func measureDispatch(
        database: BenchDatabase, servers: [ServerProcess], double: DoubleProcess, due: [Date], clock: ShiftedClock,
        http: HTTPClient
    ) async throws -> [String: Double] {
        let untilIdle = Self.firstDue.timeIntervalSince(clock.now()) - 0.3
        guard untilIdle > 0 else {
            throw BenchError("the servers took more than \(lead - 0.3) s to start; the messages were already due")
        }
        try await Task.sleep(for: .milliseconds(Int64(untilIdle * 1000)))
        let idleResident = servers.map(\.readings.residentMiB).max() ?? 0
        let serverCPUBefore = servers.map(\.readings.cpuSeconds).reduce(0, +)
        let doubleCPUBefore = double.child.readings.cpuSeconds
        let postgresCPUBefore = ProcessReadings.cpuSeconds(ofProcessesNamed: "postgres")
        let benchCPUBefore = ProcessReadings.current.cpuSeconds

        let lastDue = due.max() ?? Self.firstDue
        let deadline = lastDue.addingTimeInterval(600)
        let store = database.store
        while try await store.messageCount(status: .pending) + store.messageCount(status: .sending) > 0 {
            guard clock.now() < deadline else { throw BenchError("messages were still unsent 10 minutes after the last fell due") }
            // Not more often: each look counts the table (on PostgreSQL, a fifth of a core at 20 a second).
            try await Task.sleep(for: .milliseconds(250))
        }
        let serverCPU = servers.map(\.readings.cpuSeconds).reduce(0, +) - serverCPUBefore
        let peakResident = servers.map(\.readings.peakResidentMiB).max() ?? 0
        let doubleCPU = double.child.readings.cpuSeconds - doubleCPUBefore
        let postgresCPU = ProcessReadings.cpuSeconds(ofProcessesNamed: "postgres") - postgresCPUBefore
        let benchCPU = ProcessReadings.current.cpuSeconds - benchCPUBefore
        let received = try await double.received()
        var sends = GatewayRequestTally()
        for server in servers { sends.add(try await server.sendTextTally(http: http)) }
        let failed = try await store.messageCount(status: .failed) + store.messageCount(status: .missed)

        var lateness = LatencyHistogram()
        var firstArrival: [Int: Double] = [:]
        for (text, arrived) in zip(received.texts, received.requestedAt) {
            guard let index = seededIndex(ofText: text), due.indices.contains(index) else { continue }
            if let earlier = firstArrival[index], earlier <= arrived { continue }
            firstArrival[index] = arrived
        }
        var lastStart = Self.firstDue.timeIntervalSince1970
        for (index, arrived) in firstArrival {
            lateness.record(seconds: arrived - due[index].timeIntervalSince1970)
            lastStart = max(lastStart, arrived)
        }
        let messages = Double(due.count)
        // Every process of the run, over the time the sends took: how much of the machine was in use.
        let sendingTime = max(0.001, lastStart - Self.firstDue.timeIntervalSince1970, (due.max() ?? Self.firstDue).timeIntervalSince(Self.firstDue))
        return [
            "busyCores": (serverCPU + doubleCPU + postgresCPU + benchCPU) / sendingTime,
            "throughput": messages / max(0.001, lastStart - Self.firstDue.timeIntervalSince1970),
            "latenessP50": lateness.p50, "latenessP99": lateness.p99, "latenessMax": lateness.maxMilliseconds,
            "firstSendLateness": lateness.minMilliseconds,
            "duplicates": Double(received.texts.count - firstArrival.count),
            "lost": messages - Double(firstArrival.count) - Double(failed),
            "failed": Double(failed),
            "serverCPU": serverCPU, "serverCPUPer10k": serverCPU * 10_000 / messages,
            "idleResident": idleResident, "peakResident": peakResident,
            "doubleCPU": doubleCPU, "postgresCPU": postgresCPU, "sendRoundTrip": sends.meanMilliseconds,
        ]
    }

    /// Figures both dispatch scenarios report; the SQLite targets apply to SQLite only.
    static func figures(targets: Bool) -> [Figure] {
        func target(_ goal: Figure.Target) -> Figure.Target? { targets ? goal : nil }
        return [
            Figure(key: "latenessP50", label: "lateness p50", unit: "ms"),
            Figure(key: "latenessMax", label: "lateness max", unit: "ms"),
            Figure(key: "duplicates", label: "duplicates", unit: "messages", target: .atMost(0)),
            Figure(key: "lost", label: "lost", unit: "messages", target: .atMost(0)),
            Figure(key: "failed", label: "failed or missed", unit: "messages"),
            Figure(key: "serverCPU", label: "server CPU", unit: "CPU-s"),
            Figure(key: "idleResident", label: "server memory idle", unit: "MiB", target: target(.atMost(30))),
            Figure(key: "peakResident", label: "server memory peak", unit: "MiB", target: target(.atMost(60))),
            Figure(key: "doubleCPU", label: "WAHA double CPU", unit: "CPU-s"),
            Figure(key: "sendRoundTrip", label: "sendText round trip, mean, as the servers saw it", unit: "ms"),
            Figure(key: "postgresCPU", label: "PostgreSQL CPU", unit: "CPU-s"),
            Figure(key: "busyCores", label: "cores busy while sending (all processes)", unit: "cores"),
        ]
    }
}

/// `crier-bench burst`: many messages due at one instant.
struct BurstBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "burst", abstract: "Messages due at one instant, sent through the WAHA double by real servers.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var dispatch: DispatchOptions
    @Option(help: "Messages due at the same instant.") var messages = 10_000

    func run() async throws {
        let count = common.quick ? 200 : messages
        let run = DispatchRun(options: dispatch, offsets: Array(repeating: 0, count: count), quick: common.quick)
        let sqlite = dispatch.database == nil
        let report = BenchReport(
            scenario: "burst", parameters: [("messages", String(count))] + run.options.parameters,
            figures: [
                Figure(key: "throughput", label: "throughput", unit: "msg/s", target: sqlite ? .atLeast(4_500) : nil),
                Figure(key: "latenessP99", label: "lateness p99", unit: "ms", target: sqlite ? .atMost(2_300) : nil),
                Figure(key: "firstSendLateness", label: "first send lateness", unit: "ms", target: sqlite ? .atMost(50) : nil),
                Figure(key: "serverCPUPer10k", label: "server CPU per 10,000 sends", unit: "CPU-s",
                       target: sqlite ? .atMost(1.5) : nil),
            ] + DispatchRun.figures(targets: sqlite))
        try await common.measure(into: report) { try await run.measure() }
    }
}

/// `crier-bench steady`: messages due evenly over a minute.
struct SteadyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steady", abstract: "Messages due evenly over time, sent through the WAHA double by real servers.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var dispatch: DispatchOptions
    @Option(help: "Messages falling due per second.") var rate = 200
    @Option(help: "For how many seconds messages fall due.") var seconds = 60

    func validate() throws {
        guard (1...10_000).contains(rate), (1...3600).contains(seconds) else {
            throw ValidationError("--rate from 1 to 10000, --seconds from 1 to 3600")
        }
    }

    func run() async throws {
        let (rate, seconds) = common.quick ? (20, 3) : (self.rate, self.seconds)
        let offsets = (0..<(rate * seconds)).map { Double($0) / Double(rate) }
        let run = DispatchRun(options: dispatch, offsets: offsets, quick: common.quick)
        let sqlite = dispatch.database == nil
        let report = BenchReport(
            scenario: "steady", parameters: [("rate", String(rate)), ("seconds", String(seconds))] + run.options.parameters,
            figures: [
                Figure(key: "latenessP99", label: "lateness p99", unit: "ms", target: sqlite ? .atMost(100) : nil),
                Figure(key: "serverCPUPer10k", label: "server CPU per 10,000 sends", unit: "CPU-s"),
            ] + DispatchRun.figures(targets: sqlite))
        try await common.measure(into: report) { try await run.measure() }
    }
}

/// A line on standard error, so that `--json` output stays one object.
func progress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
