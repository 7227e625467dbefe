import ArgumentParser
import AsyncHTTPClient
import CrierCore
import CrierServer
import CrierTestSupport
import Foundation
import Logging
import NIOCore

/// Real time moved by a fixed offset, so that a freshly started server reads an instant a few seconds
/// before the benchmark's messages fall due; the WAHA double uses the same offset, so their times agree.
struct ShiftedClock: WallClock {
    let offset: TimeInterval
    func now() -> Date { Date().addingTimeInterval(offset) }
}

/// `crier-bench server`: the real server (`buildApplication`, HTTP and dispatcher) on a shifted clock,
/// run as a child of a scenario.
struct ServerChild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "The server under measurement (started by the scenarios).", shouldDisplay: false)

    @Option var database: String
    @Option var wahaURL: String
    @Option var port: Int
    @Option var clockOffset = 0.0
    @Option var maxInFlight = 100

    func run() async throws {
        var configuration = try ServerConfiguration.resolve(
            ServeFlags(
                bind: "127.0.0.1:\(port)", database: database, logLevel: "error", gateway: "waha", wahaURL: wahaURL,
                sendGap: "0", maxInFlight: String(maxInFlight)),
            environment: [:])
        // One bench account creates far more than any user would keep.
        configuration.userQuota = .unlimited
        var logger = Logger(label: "crier")
        logger.logLevel = .error
        let app = try await buildApplication(configuration, clock: ShiftedClock(offset: clockOffset), logger: logger)
        try await app.runService()
    }
}

/// `crier-bench waha-double`: the WAHA test double in a process of its own. It prints its address,
/// answers `stats` on standard input with what it received, and exits when standard input closes.
struct WAHADoubleChild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waha-double", abstract: "The WAHA double (started by the scenarios).", shouldDisplay: false)

    @Option var latencyMs = 20
    @Option var engine: BenchEngine = .webjs
    @Option var clockOffset = 0.0

    func run() async throws {
        try await WAHADouble.withRunning(
            clock: ShiftedClock(offset: clockOffset), everySessionWorking: true, checkingRequests: false
        ) { double in
            double.setLatency(.milliseconds(latencyMs))
            double.setEngine(engine.double)
            Self.emit(["url": double.baseURL])
            await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
                Thread {
                    while let line = readLine() {
                        guard line == "stats" else { continue }
                        let recorded = double.recorded
                        Self.emit([
                            "sendRequests": double.sendRequests,
                            "texts": recorded.map(\.text),
                            "requestedAt": recorded.map(\.requestedAt.timeIntervalSince1970),
                        ])
                    }
                    finished.resume()
                }.start()
            }
        }
    }

    static func emit(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// The WAHA engines a dispatch scenario can send through; they differ in requests per message.
enum BenchEngine: String, ExpressibleByArgument, CaseIterable, Sendable {
    case webjs = "WEBJS", gows = "GOWS", noweb = "NOWEB"

    var double: WAHADouble.Engine {
        switch self {
        case .webjs: .webjs
        case .gows: .gows
        case .noweb: .noweb
        }
    }
}

/// A running WAHA double child, seen from the scenario.
struct DoubleProcess: Sendable {
    let child: ChildProcess
    let baseURL: String

    /// What the double received: every send request, and each accepted message's text with the
    /// instant its send request arrived (by the shared shifted clock).
    struct Received {
        let sendRequests: Int
        let texts: [String]
        let requestedAt: [Double]
    }

    static func start(latencyMs: Int, engine: BenchEngine, clockOffset: Double) async throws -> DoubleProcess {
        let child = try ChildProcess(arguments: [
            "waha-double", "--latency-ms", String(latencyMs), "--engine", engine.rawValue,
            "--clock-offset", String(clockOffset),
        ])
        guard let line = await child.nextLine(), let object = Self.object(line), let url = object["url"] as? String else {
            await child.stop()
            throw BenchError("the WAHA double did not start")
        }
        return DoubleProcess(child: child, baseURL: url)
    }

    func received() async throws -> Received {
        try child.send("stats")
        guard let line = await child.nextLine(), let object = Self.object(line),
            let sendRequests = object["sendRequests"] as? Int, let texts = object["texts"] as? [String],
            let requestedAt = object["requestedAt"] as? [Double]
        else { throw BenchError("the WAHA double did not report what it received") }
        return Received(sendRequests: sendRequests, texts: texts, requestedAt: requestedAt)
    }

    func stop() async { await child.stop() }

    private static func object(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}

/// A running server child, seen from the scenario.
struct ServerProcess: Sendable {
    let child: ChildProcess
    let baseURL: String

    var readings: ProcessReadings { child.readings }

    /// Starts a server on `database` sending through `wahaURL`, and waits until it answers
    /// `/health/live`.
    static func start(
        database: String, wahaURL: String, clockOffset: Double = 0, maxInFlight: Int = 100, http: HTTPClient
    ) async throws -> ServerProcess {
        let port = try freeLoopbackPort()
        let child = try ChildProcess(arguments: [
            "server", "--database", database, "--waha-url", wahaURL, "--port", String(port),
            "--clock-offset", String(clockOffset), "--max-in-flight", String(maxInFlight),
        ])
        let server = ServerProcess(child: child, baseURL: "http://127.0.0.1:\(port)")
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let request = HTTPClientRequest(url: server.baseURL + "/health/live")
            if let response = try? await http.execute(request, timeout: .seconds(1)), response.status == .ok {
                return server
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await child.stop()
        throw BenchError("the server on port \(port) did not answer /health/live within 60 s")
    }

    func stop() async { await child.stop() }

    /// The server's own count and total duration of successful sendText requests, from its
    /// `/metrics`: the round trip the in-flight bound divides (throughput ≤ in flight ÷ round trip).
    func sendTextTally(http: HTTPClient) async throws -> GatewayRequestTally {
        let response = try await http.execute(HTTPClientRequest(url: baseURL + "/metrics"), timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 16 * 1024 * 1024))
        var tally = GatewayRequestTally()
        for line in text.split(separator: "\n") where line.contains(#"operation="sendText",outcome="ok""#) {
            let value = line.split(separator: " ").last.flatMap { Double($0) } ?? 0
            if line.hasPrefix("crier_gateway_request_duration_seconds_sum") { tally.seconds += value }
            if line.hasPrefix("crier_gateway_request_duration_seconds_count") { tally.count += value }
        }
        return tally
    }
}

/// Gateway requests of one kind: how many, and their total duration.
struct GatewayRequestTally {
    var count = 0.0
    var seconds = 0.0

    mutating func add(_ other: GatewayRequestTally) {
        count += other.count
        seconds += other.seconds
    }

    var meanMilliseconds: Double { count > 0 ? seconds / count * 1000 : 0 }
}

/// An HTTP client for the scenarios' requests, with `connections` connections to each host.
func makeBenchHTTPClient(connections: Int) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}
