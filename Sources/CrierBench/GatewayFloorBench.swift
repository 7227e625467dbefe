import ArgumentParser
import AsyncHTTPClient
import CrierGateway
import Foundation
import Synchronization

/// `crier-bench gateway`: the burst's sends with nothing of Crier around them but its WAHA client —
/// no database, no dispatcher, no server. What this process spends per send is the floor under the
/// burst's server CPU: AsyncHTTPClient, the loopback sockets and the client's JSON, which no change
/// to Crier's own code can take away.
struct GatewayFloorBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "The burst's sends through Crier's WAHA client alone: the HTTP cost under the burst's CPU.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Messages sent.") var messages = 10_000
    @Option(help: "WhatsApp sessions the messages are spread over.") var sessions = 1_000
    @Option(help: "Latency the WAHA double adds to each send, in milliseconds.") var latencyMs = 20
    @Option(help: "Requests kept open at once.") var maxInFlight = 100

    func validate() throws {
        guard (1...1_000_000).contains(messages), sessions >= 1, latencyMs >= 0, maxInFlight >= 1 else {
            throw ValidationError("--messages from 1 to 1000000, --sessions and --max-in-flight at least 1, --latency-ms at least 0")
        }
    }

    func run() async throws {
        let count = common.quick ? 200 : messages
        let report = BenchReport(
            scenario: "gateway",
            parameters: [
                ("messages", String(count)), ("sessions", String(sessions)), ("latencyMs", String(latencyMs)),
                ("maxInFlight", String(maxInFlight)), ("engine", BenchEngine.webjs.rawValue),
            ],
            figures: [
                Figure(key: "throughput", label: "throughput", unit: "msg/s"),
                Figure(key: "clientCPUPer10k", label: "client CPU per 10,000 sends", unit: "CPU-s"),
                Figure(key: "doubleCPU", label: "WAHA double CPU", unit: "CPU-s"),
                Figure(key: "failed", label: "failed sends", unit: "messages", target: .atMost(0)),
            ])
        try await common.measure(into: report) { try await measure(count: count) }
    }

    private func measure(count: Int) async throws -> [String: Double] {
        let double = try await DoubleProcess.start(latencyMs: latencyMs, engine: .webjs, clockOffset: 0)
        let http = WAHAClient.makeHTTPClient(maxConnections: maxInFlight)
        let client = WAHAClient(baseURL: double.baseURL, apiKey: nil, httpClient: http)
        let tally = SendTally()
        let sessions = sessions
        let cpuBefore = ProcessReadings.current.cpuSeconds
        let doubleCPUBefore = double.child.readings.cpuSeconds
        let started = ContinuousClock.now
        await withDiscardingTaskGroup { group in
            for _ in 0..<min(maxInFlight, count) {
                group.addTask {
                    while true {
                        let index = tally.next.add(1, ordering: .relaxed).oldValue
                        guard index < count else { return }
                        let text = OutgoingText(
                            session: "bench-\(index % sessions)", chatId: "120363025@g.us", text: "bench message \(index)")
                        do { _ = try await client.sendText(text) } catch { tally.failed.add(1, ordering: .relaxed) }
                    }
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        let cpu = ProcessReadings.current.cpuSeconds - cpuBefore
        let doubleCPU = double.child.readings.cpuSeconds - doubleCPUBefore
        try await http.shutdown()
        await double.stop()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return [
            "throughput": Double(count) / max(0.001, seconds), "clientCPUPer10k": cpu * 10_000 / Double(count),
            "doubleCPU": doubleCPU, "failed": Double(tally.failed.load(ordering: .relaxed)),
        ]
    }
}

/// The next message to send and the sends that failed, shared by the senders.
private final class SendTally: Sendable {
    let next = Atomic(0)
    let failed = Atomic(0)
}
