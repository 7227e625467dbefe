import CrierCore
import CrierService
import GRDB
@testable import CrierStorage
import CrierTestSupport
import Foundation
import Testing

@Suite("Crash safety, end to end", .serialized)
struct CrashSafetyTests {
    /// Campaigns of one message each, every text unique, all due a few minutes ago (inside the grace
    /// window), spread over `sessions` sessions.
    static func prepare(databasePath: String, messages: Int, sessions: Int) async throws {
        let now = Date()
        let due = now.addingTimeInterval(-300)
        let day = due.formatted(.iso8601.year().month().day())
        let time = due.formatted(.iso8601.time(includingFractionalSeconds: false)).prefix(5)
        let store = try SQLiteStore.open(path: databasePath)
        try await store.migrate()
        try await Fixtures.seedDueCampaigns(
            store: store, clock: ManualClock(now.addingTimeInterval(-600)), count: messages, sessions: sessions,
            day: day, time: String(time), textPrefix: "crash-test message")
    }

    @Test("plain `crier serve` dispatches due messages through the console gateway, clearly labelled as not sent")
    func consoleDispatch() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("crier.sqlite").path
        try await Self.prepare(databasePath: database, messages: 3, sessions: 1)
        let server = try CrierProcess(["serve", "--database", database, "--bind", "127.0.0.1:0"], directory: directory)
        _ = try await server.waitForListeningPort()
        let store = try SQLiteStore.open(path: database)
        let deadline = ContinuousClock.now + .seconds(30)
        var sent = 0
        while sent < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            sent = try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE status = 'sent'") ?? 0
            }
        }
        server.signal(SIGTERM)
        #expect(await server.waitForExit(timeout: 30) == 0)
        #expect(sent == 3)
        #expect(server.stderr.contains("Gateway 'console': messages are printed here, NOT sent to WhatsApp"))
        for index in 0..<3 {
            #expect(server.stderr.contains("NOT SENT TO WHATSAPP (console gateway)")
                && server.stderr.contains("text=crash-test message \(index)"))
        }
    }

    @Test("SIGKILL at several points while sending: every message reaches WAHA exactly once and ends sent")
    func killAndRestart() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("crier.sqlite").path
        let total = 300
        try await Self.prepare(databasePath: database, messages: total, sessions: 10)

        try await WAHADouble.withRunning(everySessionWorking: true) { double in
            double.setLatency(.milliseconds(40))
            let environment = ["CRIER_LEASE": "2s", "CRIER_WAHA_API_KEY": "key"]
            let arguments = [
                "serve", "--database", database, "--bind", "127.0.0.1:0", "--gateway", "waha", "--waha-url",
                double.baseURL, "--send-gap", "0",
            ]
            // Kill points: after roughly 10 %, 40 % and 70 % of the messages reached the gateway.
            for fraction in [0.1, 0.4, 0.7] {
                let server = try CrierProcess(arguments, directory: directory, environment: environment)
                _ = try await server.waitForListeningPort()
                let target = Int(Double(total) * fraction)
                let deadline = ContinuousClock.now + .seconds(60)
                while double.sendRequests < target, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                server.signal(SIGKILL)
                #expect(await server.waitForExit(timeout: 10) != nil)
            }
            let last = try CrierProcess(arguments, directory: directory, environment: environment)
            _ = try await last.waitForListeningPort()
            let store = try SQLiteStore.open(path: database)
            // Recovered claims are asked about 35 s after they were claimed (a send the killed process
            // started may still complete at WAHA), so the last process needs a while.
            let deadline = ContinuousClock.now + .seconds(180)
            var open = total
            while open > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                open = try await store.writer.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE status IN ('pending', 'sending')") ?? 0
                }
            }
            last.signal(SIGTERM)
            #expect(await last.waitForExit(timeout: 30) == 0)

            let texts = double.recorded.map(\.text)
            #expect(texts.count == total, "accepted by WAHA: \(texts.count)")
            #expect(Set(texts) == Set((0..<total).map { "crash-test message \($0)" }))
            let statuses = try await store.writer.read { db in
                try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM messages GROUP BY status")
                    .map { "\($0["status"] as String)=\($0["n"] as Int)" }
            }
            #expect(statuses == ["sent=\(total)"])
            let recoveries = try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message_attempts WHERE outcome = 'lease_expired'") ?? 0
            }
            #expect(recoveries > 0, "the kills interrupted claims, which were recovered")
            print("crash test: \(double.sendRequests) send requests, \(recoveries) claims recovered")
        }
    }
}
