import CrierCore
import CrierService
import CrierStorage
import CrierTestSupport
import Foundation
import Testing

@Suite("crier command line, as a real process", .serialized)
struct CLITests {
    @Test("migrate, user add and token create work on PostgreSQL (skipped without CRIER_TEST_POSTGRES_URL)")
    func accountsOnPostgres() async throws {
        guard TestBackend.available.contains(.postgres) else { return }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try await TestBackend.freshPostgresURL()
        #expect(try await CrierProcess.run(["migrate", "--database", url], directory: dir).status == 0)
        let added = try await CrierProcess.run(
            ["user", "add", "ada@example.com", "--admin", "--database", url], directory: dir, stdin: "correct horse\n")
        #expect(added.status == 0, "\(added.stderr)")
        let token = try await CrierProcess.run(
            ["token", "create", "ada@example.com"], directory: dir, environment: ["CRIER_DATABASE_URL": url])
        #expect(token.status == 0 && token.stdout.hasPrefix("crier_"), "\(token.stderr)")
        let users = try await CrierProcess.run(["user", "list", "--database", url], directory: dir)
        #expect(users.stdout == "ada@example.com\tadmin\t\n")
    }

    @Test("an unreachable PostgreSQL is one line naming it, at once, without the password")
    func unreachablePostgres() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let started = ContinuousClock.now
        let result = try await CrierProcess.run(
            ["migrate", "--database", "postgres://crier:s3cret@127.0.0.1:1/crier"], directory: dir)
        #expect(result.status == 1)
        #expect(result.stderr == "Error: PostgreSQL at postgres://crier@127.0.0.1:1/crier is unreachable: "
            + "connection refused (is PostgreSQL running there?)\n")
        #expect(!result.stderr.contains("s3cret"))
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test("user add reads the password from stdin; token create prints only the token; list and revoke")
    func userAndToken() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try await CrierProcess.run(["migrate", "--database", "crier.sqlite"], directory: dir).status == 0)
        let added = try await CrierProcess.run(
            ["user", "add", "ada@example.com", "--name", "Ada", "--admin", "--database", "crier.sqlite"],
            directory: dir, stdin: "correct horse\n")
        #expect(added.status == 0, "\(added.stderr)")
        #expect(!added.stdout.contains("correct horse") && !added.stderr.contains("correct horse"))

        let token = try await CrierProcess.run(["token", "create", "ada@example.com", "--label", "ci"], directory: dir,
                                               environment: ["CRIER_DATABASE_URL": "sqlite:crier.sqlite"])
        #expect(token.status == 0, "\(token.stderr)")
        let lines = token.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("crier_") == true && lines.first?.count == 70)

        let users = try await CrierProcess.run(["user", "list"], directory: dir)
        #expect(users.stdout == "ada@example.com\tadmin\tAda\n")
        let listed = try await CrierProcess.run(["token", "list", "ada@example.com"], directory: dir)
        let fields = listed.stdout.split(separator: "\t")
        #expect(fields.count == 4 && fields[1] == "ci", "\(listed.stdout)")
        #expect(!listed.stdout.contains("crier_"), "the token itself is never shown again")
        let tokenId = String(fields.first ?? "")
        let revoked = try await CrierProcess.run(["token", "revoke", "ada@example.com", tokenId], directory: dir)
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(try await CrierProcess.run(["token", "list", "ada@example.com"], directory: dir).stdout == "")
        let again = try await CrierProcess.run(["token", "revoke", "ada@example.com", tokenId], directory: dir)
        #expect(again.status == 1 && again.stderr == "Error: No such API token\n")

        // Domain errors: one clear line on stderr, exit status 1, no usage text.
        let duplicate = try await CrierProcess.run(
            ["user", "add", "ADA@example.com", "--database", "crier.sqlite"], directory: dir, stdin: "another pass\n")
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr == "Error: A user with this email already exists\n")

        let unknown = try await CrierProcess.run(["token", "create", "nobody@example.com"], directory: dir)
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "Error: No user with this email\n")

        let short = try await CrierProcess.run(["user", "add", "bob@example.com"], directory: dir, stdin: "short\n")
        #expect(short.status == 1)
        #expect(short.stderr == "Error: password must be at least 8 characters\n")

        // Usage errors keep ArgumentParser's usage text and exit 64.
        let usage = try await CrierProcess.run(["token", "create"], directory: dir)
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("Usage:"))
    }

    @Test("a command other than migrate or serve refuses a database file that does not exist, naming it")
    func missingDatabase() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for arguments in [["user", "add", "ada@example.com"], ["user", "list"], ["token", "create", "ada@example.com"]] {
            let result = try await CrierProcess.run(arguments + ["--database", "typo.sqlite"], directory: dir, stdin: "password1\n")
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("Error: No database at typo.sqlite"), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("typo.sqlite").path))
    }

    @Test("user set-password sets a password from the machine (stdin), and refuses a short one or an unknown user")
    func setPassword() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try await CrierProcess.run(["migrate", "--database", "c.sqlite"], directory: dir)
        _ = try await CrierProcess.run(["user", "add", "ada@example.com", "--database", "c.sqlite"], directory: dir, stdin: "first password\n")
        let set = try await CrierProcess.run(
            ["user", "set-password", "ada@example.com", "--database", "c.sqlite"], directory: dir, stdin: "second password\n")
        #expect(set.status == 0 && set.stdout.contains("Password set for ada@example.com"), "\(set.stderr)")
        #expect(!set.stdout.contains("second password") && !set.stderr.contains("second password"))
        let short = try await CrierProcess.run(["user", "set-password", "ada@example.com", "--database", "c.sqlite"], directory: dir, stdin: "short\n")
        #expect(short.status == 1 && short.stderr == "Error: password must be at least 8 characters\n")
        let nobody = try await CrierProcess.run(["user", "set-password", "x@example.com", "--database", "c.sqlite"], directory: dir, stdin: "long enough 1\n")
        #expect(nobody.status == 1 && nobody.stderr == "Error: No user with this email\n")
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("c.sqlite").path)
        let accounts = AccountService(store: store, clock: SystemWallClock())
        #expect(try await accounts.signIn(email: "ada@example.com", password: "second password").email == "ada@example.com")
        await #expect(throws: SignInError.wrongCredentials) { try await accounts.signIn(email: "ada@example.com", password: "first password") }
    }

    @Test("--version prints the version")
    func version() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await CrierProcess.run(["--version"], directory: dir)
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: ".").count == 3, "\(result.stdout)")
    }

    @Test("migrate creates the database and can run again")
    func migrate() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for _ in 0..<2 {
            let result = try await CrierProcess.run(["migrate", "--database", "data.sqlite"], directory: dir)
            #expect(result.status == 0, "\(result.stderr)")
        }
        let path = dir.appendingPathComponent("data.sqlite").path
        for file in [path, path + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file) holds password and token hashes: owner only")
        }
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test("bad settings are a clear error, not a crash", arguments: [
        (["serve", "--bind", "localhost"], "--bind: 'localhost' is not HOST:PORT"),
        (["serve", "--default-time-zone", "Mars/Base"], "--default-time-zone: 'Mars/Base' is not an IANA time zone"),
        (["serve", "--database", "postgres://u:secretpw@localhost:1/db"], "PostgreSQL at postgres://u@localhost:1/db is unreachable"),
        (["serve", "--database", "postgres://u:secretpw@localhost/db?sslmode=maybe"], "sslmode must be disable, prefer or require"),
    ])
    func badSettings(_ arguments: [String], _ message: String) async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await CrierProcess.run(arguments, directory: dir)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stderr.contains("secretpw"), "credentials never reach the output")
    }

    @Test("serve --help documents every setting with its environment variable")
    func help() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await CrierProcess.run(["serve", "--help"], directory: dir)
        for variable in [
            "CRIER_BIND", "CRIER_DATABASE_URL", "CRIER_DEFAULT_TIME_ZONE", "CRIER_LOG_LEVEL", "CRIER_GATEWAY",
            "CRIER_WAHA_URL", "CRIER_WAHA_API_KEY", "CRIER_GRACE", "CRIER_SEND_GAP", "CRIER_MAX_IN_FLIGHT",
            "CRIER_WEBHOOK_SECRET", "CRIER_PUBLIC_URL", "CRIER_LEASE",
        ] {
            #expect(result.stdout.contains(variable), "\(variable)")
        }
        #expect(!result.stdout.contains("--webhook-secret"), "secrets are environment-only: flags show in ps")
    }

    @Test("a second serve on a busy port says so and exits before dispatching")
    func busyPort() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try CrierProcess(["serve", "--bind", "127.0.0.1:0"], directory: dir)
        let port = try await first.waitForListeningPort()
        let second = try await CrierProcess.run(["serve", "--bind", "127.0.0.1:\(port)"], directory: dir)
        #expect(second.status == 1)
        #expect(second.stderr.contains("Error: 127.0.0.1:\(port) is already in use; choose another with --bind"),
                "\(second.stderr)")
        #expect(!second.stderr.contains("Dispatcher started"), "\(second.stderr)")
        first.signal(SIGTERM)
        #expect(await first.waitForExit(timeout: 30) == 0)
    }

    @Test("serve keeps campaigns across a restart and exits 0 on SIGTERM and SIGINT")
    func serveRestart() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try await CrierProcess.run(["migrate"], directory: dir)
        _ = try await CrierProcess.run(["user", "add", "ada@example.com"], directory: dir, stdin: "password1\n")
        let token = try await CrierProcess.run(["token", "create", "ada@example.com"], directory: dir)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let first = try CrierProcess(["serve", "--bind", "127.0.0.1:0"], directory: dir)
        var base = "http://127.0.0.1:\(try await first.waitForListeningPort())"
        #expect(try await httpJSON("GET", base + "/health/live").status == 200)
        #expect(try await httpJSON("POST", base + "/api/sessions", token: token, body: ["name": "main"]).status == 201)
        let created = try await httpJSON("POST", base + "/api/campaigns", token: token, body: [
            "groupId": "1203@g.us", "groupName": "Choir", "sessionId": "main", "startDate": "2099-01-01",
            "endDate": "2099-01-10", "messageTime": "09:00", "messageTemplate": "{days_left} to go", "isRecurring": false,
        ])
        #expect(created.status == 201)
        let id = try #require((created.json as? [String: Any])?["campaignId"] as? String)
        first.signal(SIGTERM)
        #expect(await first.waitForExit(timeout: 30) == 0)

        let second = try CrierProcess(["serve", "--bind", "127.0.0.1:0"], directory: dir)
        base = "http://127.0.0.1:\(try await second.waitForListeningPort())"
        let read = try await httpJSON("GET", base + "/api/campaigns/\(id)", token: token)
        #expect(read.status == 200)
        let campaign = try #require(read.json as? [String: Any])
        #expect((campaign["messages"] as? [Any])?.count == 10)
        #expect(campaign["sendTimeUtc"] as? String == "2099-01-01T09:00:00Z")
        second.signal(SIGINT)
        #expect(await second.waitForExit(timeout: 30) == 0)
        #expect(!second.stderr.contains(token), "tokens are never logged")
    }
}
