import CrierTestSupport
import Foundation
import GRDB
import Testing

/// Issue 20, item 3: while the database cannot write, readiness is red and requests answer 503 with
/// a clear error — never a 500, and never "ok".
@Suite("The database failing, as a running server shows it", .serialized)
struct StorageFailureTests {
    @Test("a damaged database file: requests answer 503 naming it, readiness is red")
    func damagedFile() async throws {
        let running = try await RunningServer.start()
        defer { running.stop() }
        for index in 0..<3 {
            let created = try await httpJSON("POST", running.base + "/api/campaigns", token: running.token, body: [
                "groupId": "1203@g.us", "groupName": "Choir", "sessionId": "main", "title": "c\(index)",
                "startDate": "2099-01-01", "endDate": "2099-01-03", "messageTime": "09:00",
                "messageTemplate": "{days_left} to go", "isRecurring": false,
            ])
            #expect(created.status == 201)
        }
        running.server.signal(SIGTERM)
        #expect(await running.server.waitForExit(timeout: 30) == 0)

        // Overwrite the campaigns table's root page; nothing has the file open now.
        let queue = try DatabaseQueue(path: running.database)
        let (rootPage, pageSize) = try await queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'campaigns'") ?? 0,
             try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096)
        }
        try queue.close()
        let file = try FileHandle(forUpdating: URL(fileURLWithPath: running.database))
        try file.seek(toOffset: UInt64((rootPage - 1) * pageSize))
        try file.write(contentsOf: Data(repeating: 0xA5, count: pageSize))
        try file.close()

        let server = try CrierProcess(["serve", "--bind", "127.0.0.1:0"], directory: running.directory)
        defer { if server.process.isRunning { server.signal(SIGKILL) } }
        let base = "http://127.0.0.1:\(try await server.waitForListeningPort())"
        let listed = try await httpJSON("GET", base + "/api/campaigns", token: running.token)
        #expect(listed.status == 503)
        let error = try #require(listed.json as? [String: Any])
        #expect(error["code"] as? String == "storage_unavailable")
        #expect((error["error"] as? String)?.contains("the database file is damaged") == true, "\(error)")
        let ready = try await httpJSON("GET", base + "/health/ready")
        #expect(ready.status == 503)
        let checks = (ready.json as? [String: Any])?["checks"] as? [String: Any]
        #expect((checks?["database"] as? String)?.hasPrefix("the database file is damaged") == true, "\(ready.json ?? "")")
        #expect(server.stderr.contains("Database unavailable"), "the operator sees it in the log")
        #expect(!server.stderr.contains("Unhandled error"))
    }

    @Test("a full disk: creates answer 503 'disk is full', readiness is red; space freed, creates work again")
    func fullDisk() async throws {
        guard let disk = try await SmallDisk.mount(megabytes: 8) else { return }
        let directory = disk.path
        #expect(try await CrierProcess.run(["migrate"], directory: directory).status == 0)
        _ = try await CrierProcess.run(["user", "add", "ada@example.com"], directory: directory, stdin: "password1\n")
        let token = try await CrierProcess.run(["token", "create", "ada@example.com"], directory: directory)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try CrierProcess(["serve", "--bind", "127.0.0.1:0"], directory: URL(fileURLWithPath: NSTemporaryDirectory()),
                                      environment: ["CRIER_DATABASE_URL": directory.appendingPathComponent("crier.sqlite").path])
        defer { if server.process.isRunning { server.signal(SIGKILL) } }
        let base = "http://127.0.0.1:\(try await server.waitForListeningPort())"
        #expect(try await httpJSON("POST", base + "/api/sessions", token: token, body: ["name": "main"]).status == 201)
        #expect(try await httpJSON("GET", base + "/health/ready").status == 200)

        let filler = disk.fill()
        var statuses: [Int] = []
        var failure: [String: Any]?
        for index in 0..<400 where failure == nil {
            let created = try await httpJSON("POST", base + "/api/campaigns", token: token, body: [
                "groupId": "1203@g.us", "groupName": "Choir", "sessionId": "main", "title": "full \(index)",
                "startDate": "2099-01-01", "endDate": "2099-12-31", "messageTime": "09:00",
                "messageTemplate": "{days_left} to go", "isRecurring": false,
            ])
            statuses.append(created.status)
            if created.status != 201 { failure = created.json as? [String: Any] }
        }
        #expect(!statuses.contains(500), "never a 500: \(Set(statuses))")
        #expect(statuses.last == 503, "\(Set(statuses))")
        #expect(failure?["code"] as? String == "storage_unavailable")
        #expect((failure?["error"] as? String)?.contains("the disk is full") == true, "\(failure ?? [:])")
        let ready = try await httpJSON("GET", base + "/health/ready")
        #expect(ready.status == 503, "\(ready.json ?? "")")

        try FileManager.default.removeItem(atPath: filler)
        let again = try await httpJSON("POST", base + "/api/campaigns", token: token, body: [
            "groupId": "1203@g.us", "groupName": "Choir", "sessionId": "main", "startDate": "2099-01-01",
            "endDate": "2099-01-02", "messageTime": "09:00", "messageTemplate": "{days_left} to go", "isRecurring": false,
        ])
        #expect(again.status == 201, "space freed: creates work again")
        server.signal(SIGTERM)
        #expect(await server.waitForExit(timeout: 30) == 0)
        await disk.unmount()
    }

    @Test("PostgreSQL going away: readiness turns red and requests answer 503; back, all is well (skipped without CRIER_TEST_POSTGRES_URL)")
    func postgresDown() async throws {
        guard TestBackend.available.contains(.postgres), let base = TestBackend.postgresURL,
            let components = URLComponents(string: base), let host = components.host, let port = components.port
        else { return }
        let forwarder = try await TCPForwarder.start(to: host, port: port)
        var forwarded = URLComponents(string: try await TestBackend.freshPostgresURL())
        forwarded?.port = forwarder.port
        let url = try #require(forwarded?.string)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = ["CRIER_DATABASE_URL": url]
        #expect(try await CrierProcess.run(["migrate"], directory: directory, environment: environment).status == 0)
        _ = try await CrierProcess.run(["user", "add", "ada@example.com"], directory: directory, environment: environment, stdin: "password1\n")
        let token = try await CrierProcess.run(["token", "create", "ada@example.com"], directory: directory, environment: environment)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try CrierProcess(["serve", "--bind", "127.0.0.1:0"], directory: directory, environment: environment)
        defer { if server.process.isRunning { server.signal(SIGKILL) } }
        let api = "http://127.0.0.1:\(try await server.waitForListeningPort())"
        #expect(try await httpJSON("GET", api + "/health/ready").status == 200)

        forwarder.cut()
        try await Task.sleep(for: .milliseconds(1100))  // readiness probes a second apart share an answer
        let started = ContinuousClock.now
        let ready = try await httpJSON("GET", api + "/health/ready")
        #expect(ready.status == 503, "\(ready.json ?? "")")
        let sessions = try await httpJSON("POST", api + "/api/sessions", token: token, body: ["name": "main"])
        #expect(sessions.status == 503, "\(sessions.status) \(sessions.json ?? "")")
        print("PostgreSQL cut: readiness and a request answered in \(ContinuousClock.now - started)")

        forwarder.restore()
        var status = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while status != 201, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            status = try await httpJSON("POST", api + "/api/sessions", token: token, body: ["name": "main"]).status
        }
        #expect(status == 201, "PostgreSQL back: requests work again")
        server.signal(SIGTERM)
        #expect(await server.waitForExit(timeout: 30) == 0)
        try await forwarder.close()
    }
}

/// A small tmpfs of its own (needs root), so a test can fill a disk without filling the machine's.
struct SmallDisk {
    let path: URL

    /// `nil`, with the reason printed, where mounting is not allowed; CI requires it.
    static func mount(megabytes: Int) async throws -> SmallDisk? {
        let path = try temporaryDirectory()
        let status = try await Spawned.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path.path])
        guard status == 0 else {
            try? FileManager.default.removeItem(at: path)
            if ProcessInfo.processInfo.environment["CRIER_REQUIRE_SYSTEM_TOOLS"] == "1" {
                throw ProcessError("mounting a tmpfs is required (CRIER_REQUIRE_SYSTEM_TOOLS=1) but was refused")
            }
            print("cannot mount a tmpfs (not root?): the full-disk test is skipped")
            return nil
        }
        return SmallDisk(path: path)
    }

    /// Writes a file until the disk is full; returns its path.
    func fill() -> String {
        let filler = path.appendingPathComponent("filler").path
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: filler) else { return filler }
        let chunk = Data(repeating: 0, count: 64 * 1024)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        let small = Data(repeating: 0, count: 512)
        while (try? handle.write(contentsOf: small)) != nil {}
        try? handle.close()
        return filler
    }

    func unmount() async {
        _ = try? await Spawned.run("/bin/umount", ["-l", path.path])
        try? FileManager.default.removeItem(at: path)
    }
}
