import ArgumentParser
import CrierCore
import CrierStorage
import Foundation

/// `crier-bench records`: the burst's database work alone, in this process — every message claimed
/// (500 to a transaction, as the dispatcher claims) and its sent outcome and audit line recorded
/// (`--outcome-batch` to a transaction, about what the dispatcher's 5 ms of lingering gathers in a
/// burst). With `crier-bench gateway`, it splits the burst's server CPU into what sending costs and
/// what keeping each message's state durable costs.
struct RecordsFloorBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records", abstract: "The burst's claims and outcome writes on the store alone: the database's share of its CPU.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Messages due at one instant, claimed and recorded sent.") var messages = 10_000
    @Option(help: "WhatsApp sessions the messages are spread over.") var sessions = 1_000
    @Option(help: "Outcomes written to a transaction.") var outcomeBatch = 25
    @Option(help: "postgres://… to run on PostgreSQL (in a new schema); a SQLite file otherwise.") var database: String?

    func validate() throws {
        guard (1...1_000_000).contains(messages), sessions >= 1, (1...10_000).contains(outcomeBatch) else {
            throw ValidationError("--messages from 1 to 1000000, --sessions at least 1, --outcome-batch from 1 to 10000")
        }
    }

    func run() async throws {
        let count = common.quick ? 200 : messages
        let report = BenchReport(
            scenario: "records",
            parameters: [
                ("messages", String(count)), ("sessions", String(sessions)), ("outcomeBatch", String(outcomeBatch)),
                ("store", database == nil ? "sqlite" : "postgres"),
            ],
            figures: [
                Figure(key: "cpuPer10k", label: "CPU per 10,000 messages (this process)", unit: "CPU-s"),
                Figure(key: "postgresCPUPer10k", label: "PostgreSQL CPU per 10,000 messages", unit: "CPU-s"),
                Figure(key: "recorded", label: "outcomes recorded", unit: "messages"),
            ])
        try await common.measure(into: report) { try await measure(count: count) }
    }

    private func measure(count: Int) async throws -> [String: Double] {
        let database = try await BenchDatabase.fresh(postgres: self.database)
        defer { database.remove() }
        let store = database.store
        let due = DispatchRun.firstDue
        let setup = due.addingTimeInterval(-3600)
        let account = try await BenchAccount.create(in: store, email: "ops@example.com", sessions: sessions, at: setup)
        try await account.seedOneMessageCampaigns(in: store, due: Array(repeating: due, count: count), at: setup)
        try await store.settle()

        let cpuBefore = ProcessReadings.current.cpuSeconds
        let postgresBefore = ProcessReadings.cpuSeconds(ofProcessesNamed: "postgres")
        var recorded = 0
        while true {
            let claims = try await store.claimDueMessages(
                now: due, limit: 500, owner: "bench", leaseUntil: due.addingTimeInterval(300))
            guard !claims.isEmpty else { break }
            for start in stride(from: 0, to: claims.count, by: outcomeBatch) {
                let records = claims[start..<min(start + outcomeBatch, claims.count)].map { claim in
                    let raw = "3EB0" + String(claim.id, radix: 16, uppercase: true)
                    let log = AttemptLog(
                        startedAt: due, finishedAt: due.addingTimeInterval(0.02), outcome: .sent, gatewayStatus: 201,
                        reason: nil, attempted: true)
                    return OutcomeRecord(
                        claim, .sent(gatewayMessageId: GatewayMessageId(full: "true_\(claim.chatId)_\(raw)", raw: raw)), log: log)
                }
                recorded += try await store.recordOutcomes(records).filter { $0 }.count
            }
        }
        let cpu = ProcessReadings.current.cpuSeconds - cpuBefore
        let postgres = ProcessReadings.cpuSeconds(ofProcessesNamed: "postgres") - postgresBefore
        return [
            "cpuPer10k": cpu * 10_000 / Double(count), "postgresCPUPer10k": postgres * 10_000 / Double(count),
            "recorded": Double(recorded),
        ]
    }
}
