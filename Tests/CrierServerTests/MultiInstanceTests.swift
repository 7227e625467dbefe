import CrierCore
import CrierService
import CrierStorage
import CrierTestSupport
import Foundation
import Testing

/// Several `crier serve` processes on one PostgreSQL database and one WAHA double, one of them
/// killed midway: every message reaches WAHA exactly once.
///
/// Needs `CRIER_TEST_POSTGRES_URL` (CI starts a server); skipped with the reason printed otherwise.
@Suite("Several instances on PostgreSQL, end to end", .serialized)
struct MultiInstanceTests {
    static let total = 2000
    static let sessions = 50

    @Test("3 processes, 2,000 messages due within a minute over 50 sessions, one process SIGKILLed: exactly once")
    func threeInstancesOneKilled() async throws {
        guard TestBackend.available.contains(.postgres) else { return }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try await TestBackend.postgres.makeDatabaseLocation()
        let store = try await TestBackend.openStore(at: database)
        // Every message due at the start of this minute: all due at once, inside the grace window.
        let now = Date()
        let day = now.formatted(.iso8601.year().month().day())
        let time = String(now.formatted(.iso8601.time(includingFractionalSeconds: false)).prefix(5))
        try await Fixtures.seedDueCampaigns(
            store: store, clock: ManualClock(now.addingTimeInterval(-600)), count: Self.total, sessions: Self.sessions,
            day: day, time: time, textPrefix: "multi-instance message")
        let token = try await AccountService(store: store, clock: SystemWallClock(), passwordHashCost: 4)
            .createToken(email: "ops@example.com", label: "test")

        try await WAHADouble.withRunning(everySessionWorking: true, checkingRequests: false) { double in
            double.setLatency(.milliseconds(20))
            let arguments = [
                "serve", "--database", database, "--bind", "127.0.0.1:0", "--gateway", "waha", "--waha-url", double.baseURL,
                "--send-gap", "0", "--lease", "3s",
            ]
            var instances: [CrierProcess] = []
            var ports: [Int] = []
            for _ in 0..<3 {
                let instance = try CrierProcess(arguments, directory: directory, environment: ["CRIER_WAHA_API_KEY": "key"])
                ports.append(try await instance.waitForListeningPort())
                instances.append(instance)
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while double.sendRequests < Self.total * 3 / 10, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            instances[1].signal(SIGKILL)
            #expect(await instances[1].waitForExit(timeout: 10) != nil)

            // The killed process's claims come back after their lease and are asked about 35 s after
            // they were claimed (a send it started may still land at WAHA).
            let finish = ContinuousClock.now + .seconds(240)
            var open = Self.total
            while open > 0, ContinuousClock.now < finish {
                try await Task.sleep(for: .milliseconds(250))
                open = try await store.messageCount(status: .pending) + store.messageCount(status: .sending)
            }
            #expect(open == 0, "every message row is terminal")
            let texts = double.recorded.map(\.text)
            #expect(texts.count == Self.total, "accepted by WAHA: \(texts.count)")
            #expect(Set(texts) == Set((0..<Self.total).map { "multi-instance message \($0)" }), "each exactly once")
            #expect(try await store.messageCount(status: .sent) == Self.total)
            let recovered = try await store.attemptCount(outcome: .leaseExpired)
            #expect(recovered > 0, "the dead process's claims were recovered by the others")
            let sessionsUsed = Set(double.recorded.map(\.session)).count
            #expect(sessionsUsed == Self.sessions)

            // Any live instance answers for any campaign.
            let campaigns = try await httpJSON("GET", "http://127.0.0.1:\(ports[0])/api/campaigns/completed?limit=5", token: token)
            let ids = ((campaigns.json as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            #expect(ids.count == 5)
            for port in [ports[0], ports[2]] {
                for id in ids {
                    let answer = try await httpJSON("GET", "http://127.0.0.1:\(port)/api/campaigns/\(id)", token: token)
                    #expect(answer.status == 200 && (answer.json as? [String: Any])?["status"] as? String == "COMPLETED")
                }
            }
            for index in [0, 2] {
                instances[index].signal(SIGTERM)
                #expect(await instances[index].waitForExit(timeout: 30) == 0)
            }
            print("multi-instance: \(double.sendRequests) send requests, \(recovered) claims recovered")
        }
    }
}
