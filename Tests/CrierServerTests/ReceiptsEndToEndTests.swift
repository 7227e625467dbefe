import CrierCore
import CrierService
import GRDB
@testable import CrierStorage
import CrierTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Receipts end to end", .serialized)
struct ReceiptsEndToEndTests {

    @Test("a session Crier creates gets its signed webhook; a receipt that beats the send's reply still lands")
    func ackBeforeReply() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("crier.sqlite").path
        try await CrashSafetyTests.prepare(databasePath: database, messages: 3, sessions: 1)
        let store = try SQLiteStore.open(path: database)
        let token = try await AccountService(store: store, clock: SystemWallClock(), passwordHashCost: 4)
            .createToken(email: "ops@example.com", label: "e2e")
        let port = try freeLoopbackPort()
        try await WAHADouble.withRunning { double in
            double.setAckBeforeReply(true)
            let server = try CrierProcess(
                [
                    "serve", "--database", database, "--bind", "127.0.0.1:\(port)", "--waha-url", double.baseURL,
                    "--send-gap", "0", "--public-url", "http://127.0.0.1:\(port)",
                ],
                directory: directory, environment: ["CRIER_WEBHOOK_SECRET": "an-end-to-end-secret"])
            _ = try await server.waitForListeningPort()
            // The seeded session is registered in Crier but not yet at WAHA: registering creates it there,
            // with Crier's webhook; the dispatcher's waiting messages then go out.
            let registered = try await httpJSON(
                "POST", "http://127.0.0.1:\(port)/api/sessions", token: token, body: ["name": "phone-0"])
            #expect(registered.status == 200, "\(registered)")
            let hook = (double.sessionConfig("phone-0")?["webhooks"] as? [[String: Any]])?.first
            #expect(hook?["url"] as? String == "http://127.0.0.1:\(port)/api/webhooks/waha")

            let deadline = ContinuousClock.now + .seconds(60)
            var delivered = 0
            while delivered < 3, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                delivered = try await store.writer.read { db in
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM messages WHERE status = 'sent' AND delivered_at IS NOT NULL") ?? 0
                }
            }
            server.signal(SIGTERM)
            #expect(await server.waitForExit(timeout: 30) == 0)
            #expect(delivered == 3, "\(server.stderr.suffix(2000))")
            #expect(double.recorded.count == 3)
            #expect(!server.stderr.contains("an-end-to-end-secret"), "the secret is never logged")
        }
    }
}
