import CrierTestSupport
import Foundation
import GRDB
import Testing

/// Issue 20: every tool a user runs beside a running server (the CLI, `sqlite3 .backup`, `VACUUM INTO`,
/// a second server) must leave SQLite's locks alone, so nothing the server acknowledged is lost.
@Suite("SQLite beside a running server", .serialized)
struct BesideServerTests {
    @Test("CLI commands, sqlite3 .backup, VACUUM INTO and a second serve under write load: after kill -9 every acknowledged write is there")
    func toolsBesideTheServer() async throws {
        let sqlite3 = try Self.sqlite3()
        let running = try await RunningServer.start()
        defer { running.stop() }
        let load = CreateLoad(base: running.base, token: running.token)
        defer { load.stop() }
        let writers = load.start(clients: 3)

        var steps: [(String, () async throws -> Void)] = [
            ("token create", { try await running.cli(["token", "create", "ada@example.com", "--label", "beside"]) }),
            ("user add", { try await running.cli(["user", "add", "bob@example.com"], stdin: "another password\n") }),
            ("user list", { try await running.cli(["user", "list"]) }),
            ("token list", { try await running.cli(["token", "list", "ada@example.com"]) }),
            ("token revoke", {
                let listed = try await running.cli(["token", "list", "ada@example.com"])
                let beside = listed.split(separator: "\n").first { $0.contains("\tbeside\t") }
                let id = String(beside?.split(separator: "\t").first ?? "")
                try await running.cli(["token", "revoke", "ada@example.com", id])
            }),
            ("migrate", { try await running.cli(["migrate"]) }),
            ("crier backup", { try await running.cli(["backup", "crier-backup.sqlite"]) }),
            ("second serve", {
                let second = try CrierProcess(
                    ["serve", "--database", "crier.sqlite", "--bind", "127.0.0.1:0"], directory: running.directory)
                _ = try await second.waitForListeningPort()
                try await Task.sleep(for: .seconds(2))
                second.signal(SIGTERM)
                #expect(await second.waitForExit(timeout: 30) == 0, "\(second.stderr)")
            }),
        ]
        if let sqlite3 {
            steps += [
                // sqlite3's .backup copies 100 pages a step and starts again whenever another process
                // writes, so under full load it never ends: it runs under light load (what issue 20 saw).
                ("sqlite3 .backup", {
                    load.pause = .milliseconds(300)
                    defer { load.pause = .zero }
                    try await Self.run(sqlite3, ["crier.sqlite", ".backup sqlite3-backup.sqlite"], in: running.directory)
                }),
                ("sqlite3 VACUUM INTO", { try await Self.run(sqlite3, ["crier.sqlite", "VACUUM INTO 'vacuumed.sqlite'"], in: running.directory) }),
                ("sqlite3 read", { try await Self.run(sqlite3, ["crier.sqlite", "SELECT COUNT(*) FROM campaigns"], in: running.directory) }),
            ]
        }
        for (name, step) in steps {
            let before = load.acknowledged.count
            try await step()
            try await load.waitForMore(than: before)
            #expect(running.deletedFilesHeld().isEmpty, "after \(name) the server writes into \(running.deletedFilesHeld())")
            #expect(FileManager.default.fileExists(atPath: running.database + "-wal"), "after \(name) the WAL is gone")
        }
        try await load.waitForMore(than: load.acknowledged.count)
        running.server.signal(SIGKILL)
        _ = await running.server.waitForExit(timeout: 10)
        load.stop()
        _ = await writers.value

        let acknowledged = load.acknowledged
        #expect(acknowledged.count > 50, "the load ran: \(acknowledged.count) creates acknowledged")
        let queue = try DatabaseQueue(path: running.database)
        let stored = try await queue.read { db in Set(try String.fetchAll(db, sql: "SELECT public_id FROM campaigns")) }
        #expect(acknowledged.subtracting(stored).isEmpty, "lost after kill -9: \(acknowledged.subtracting(stored).count) of \(acknowledged.count)")
        #expect(try await queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") } == ["ok"])
        for copy in ["crier-backup.sqlite"] + (sqlite3 == nil ? [] : ["sqlite3-backup.sqlite", "vacuumed.sqlite"]) {
            let backup = try DatabaseQueue(path: running.directory.appendingPathComponent(copy).path)
            #expect(try await backup.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") } == ["ok"], "\(copy)")
        }
        print("beside the server: \(acknowledged.count) creates acknowledged, all \(stored.count) stored after kill -9")
    }

    @Test("crier backup under a stream of creates, then restore: every campaign acknowledged before the backup began is back")
    func backupAndRestore() async throws {
        let running = try await RunningServer.start()
        defer { running.stop() }
        let load = CreateLoad(base: running.base, token: running.token)
        defer { load.stop() }
        let writers = load.start(clients: 3)
        try await load.waitForMore(than: 100)

        let beforeBackup = load.acknowledged
        let started = ContinuousClock.now
        let backup = try await CrierProcess.run(["backup", "backup.sqlite"], directory: running.directory)
        let took = ContinuousClock.now - started
        #expect(backup.status == 0, "\(backup.stderr)")
        try await load.waitForMore(than: load.acknowledged.count)

        let refused = try await CrierProcess.run(["restore", "backup.sqlite"], directory: running.directory)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("has crier.sqlite open (a running server?); stop it, then restore"), "\(refused.stderr)")

        load.stop()
        _ = await writers.value
        let afterBackup = load.acknowledged.subtracting(beforeBackup)
        running.server.signal(SIGTERM)
        #expect(await running.server.waitForExit(timeout: 30) == 0)

        let restored = try await CrierProcess.run(["restore", "backup.sqlite"], directory: running.directory)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stdout.contains("The database it replaced is kept as crier.sqlite.before-restore-"))
        let queue = try DatabaseQueue(path: running.database)
        let stored = try await queue.read { db in Set(try String.fetchAll(db, sql: "SELECT public_id FROM campaigns")) }
        #expect(beforeBackup.subtracting(stored).isEmpty, "missing after restore: \(beforeBackup.subtracting(stored).count)")
        #expect(try await queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") } == ["ok"])
        try queue.close()

        // The restored database serves again.
        let again = try CrierProcess(["serve", "--bind", "127.0.0.1:0"], directory: running.directory)
        let base = "http://127.0.0.1:\(try await again.waitForListeningPort())"
        let id = try #require(beforeBackup.first)
        #expect(try await httpJSON("GET", base + "/api/campaigns/\(id)", token: running.token).status == 200)
        again.signal(SIGTERM)
        #expect(await again.waitForExit(timeout: 30) == 0)
        print("backup under load: \(beforeBackup.count) creates before it, \(afterBackup.count) during and after; "
            + "took \(took); \(stored.count) campaigns restored")
    }

    @Test("restore refuses what is not a whole Crier database, and backup refuses to overwrite")
    func refusals() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try await CrierProcess.run(["migrate"], directory: dir).status == 0)
        try Data("not a database".utf8).write(to: dir.appendingPathComponent("junk.sqlite"))
        let junk = try await CrierProcess.run(["restore", "junk.sqlite"], directory: dir)
        #expect(junk.status == 1 && junk.stderr.contains("junk.sqlite is not a readable SQLite database"), "\(junk.stderr)")
        let other = try DatabaseQueue(path: dir.appendingPathComponent("other.sqlite").path)
        try await other.write { db in try db.execute(sql: "CREATE TABLE t(x)") }
        try other.close()
        let foreign = try await CrierProcess.run(["restore", "other.sqlite"], directory: dir)
        #expect(foreign.status == 1 && foreign.stderr.contains("other.sqlite is not a Crier database"), "\(foreign.stderr)")
        #expect(try await CrierProcess.run(["backup", "copy.sqlite"], directory: dir).status == 0)
        let twice = try await CrierProcess.run(["backup", "copy.sqlite"], directory: dir)
        #expect(twice.status == 1 && twice.stderr.contains("copy.sqlite already exists"), "\(twice.stderr)")
        let missing = try await CrierProcess.run(["backup", "x.sqlite", "--database", "typo.sqlite"], directory: dir)
        #expect(missing.status == 1 && missing.stderr.hasPrefix("Error: No database at typo.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("typo.sqlite").path))
        let postgres = try await CrierProcess.run(["backup", "x", "--database", "postgres://u@127.0.0.1:1/d"], directory: dir)
        #expect(postgres.status == 1 && postgres.stderr.contains("pg_dump"), "\(postgres.stderr)")
    }

    /// `sqlite3`, or `nil` (with the reason printed) where it is not installed; CI requires it.
    static func sqlite3() throws -> String? {
        for path in ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        if ProcessInfo.processInfo.environment["CRIER_REQUIRE_SYSTEM_TOOLS"] == "1" {
            throw ProcessError("sqlite3 is required (CRIER_REQUIRE_SYSTEM_TOOLS=1) but not installed")
        }
        print("sqlite3 is not installed: the sqlite3 .backup and VACUUM INTO steps are skipped")
        return nil
    }

    static func run(_ executable: String, _ arguments: [String], in directory: URL) async throws {
        let status = try await Spawned.run(executable, arguments, directory: directory.path, timeout: 300)
        guard status == 0 else { throw ProcessError("\(executable) \(arguments) failed: \(String(describing: status))") }
    }
}

/// A `crier serve` on a fresh SQLite database in a folder of its own, with a user, a token and a session.
struct RunningServer {
    let directory: URL
    let server: CrierProcess
    let base: String
    let token: String
    var database: String { directory.appendingPathComponent("crier.sqlite").path }

    static func start() async throws -> RunningServer {
        let directory = try temporaryDirectory()
        #expect(try await CrierProcess.run(["migrate"], directory: directory).status == 0)
        _ = try await CrierProcess.run(["user", "add", "ada@example.com"], directory: directory, stdin: "password1\n")
        let token = try await CrierProcess.run(["token", "create", "ada@example.com"], directory: directory)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try CrierProcess(["serve", "--bind", "127.0.0.1:0", "--gateway", "console"], directory: directory)
        let base = "http://127.0.0.1:\(try await server.waitForListeningPort())"
        #expect(try await httpJSON("POST", base + "/api/sessions", token: token, body: ["name": "main"]).status == 201)
        return RunningServer(directory: directory, server: server, base: base, token: token)
    }

    /// Runs a `crier` command on the server's database and returns its stdout; it must succeed.
    @discardableResult
    func cli(_ arguments: [String], stdin: String? = nil) async throws -> String {
        let result = try await CrierProcess.run(arguments, directory: directory, stdin: stdin)
        #expect(result.status == 0, "crier \(arguments): \(result.stderr)")
        return result.stdout
    }

    /// Files the server process holds open that no longer have a name (a deleted WAL, say).
    func deletedFilesHeld() -> [String] {
        let folder = "/proc/\(server.process.processIdentifier)/fd"
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: folder + "/" + $0) }
            .filter { $0.contains(directory.lastPathComponent) && $0.hasSuffix("(deleted)") }
    }

    func stop() {
        if server.process.isRunning { server.signal(SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Clients creating campaigns as fast as the server answers, keeping the id of every create it
/// acknowledged (201).
final class CreateLoad: @unchecked Sendable {
    let base: String
    let token: String
    private let lock = NSLock()
    private var ids: Set<String> = []
    private var stopped = false
    private var _pause: Duration = .zero

    /// How long each client waits between creates (none: as fast as the server answers).
    var pause: Duration {
        get { lock.withLock { _pause } }
        set { lock.withLock { _pause = newValue } }
    }

    init(base: String, token: String) {
        self.base = base
        self.token = token
    }

    var acknowledged: Set<String> { lock.withLock { ids } }

    func start(clients: Int) -> Task<Void, Never> {
        Task {
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<clients {
                    group.addTask { await self.create(client: client) }
                }
            }
        }
    }

    func stop() { lock.withLock { stopped = true } }

    /// Waits until more than `count` creates were acknowledged (the server still answers).
    func waitForMore(than count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while acknowledged.count <= count {
            guard ContinuousClock.now < deadline else { throw ProcessError("the server stopped acknowledging creates") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private func create(client: Int) async {
        var index = 0
        while !lock.withLock({ stopped }) {
            index += 1
            let body: [String: Any] = [
                "groupId": "1203@g.us", "groupName": "Choir", "sessionId": "main", "title": "load \(client)-\(index)",
                "startDate": "2099-01-01", "endDate": "2099-01-30", "messageTime": "09:00",
                "messageTemplate": "{days_left} days to go", "isRecurring": false,
            ]
            guard let created = try? await httpJSON("POST", base + "/api/campaigns", token: token, body: body),
                created.status == 201, let id = (created.json as? [String: Any])?["campaignId"] as? String
            else {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            _ = lock.withLock { ids.insert(id) }
            if pause > .zero { try? await Task.sleep(for: pause) }
        }
    }
}
