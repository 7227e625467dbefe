import Foundation
import Testing

@Suite("crier command line, as a real process", .serialized)
struct CLITests {
    @Test("user add reads the password from stdin; token create prints only the token")
    func userAndToken() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
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

        let duplicate = try await CrierProcess.run(
            ["user", "add", "ADA@example.com", "--database", "crier.sqlite"], directory: dir, stdin: "another pass\n")
        #expect(duplicate.status != 0)
        #expect(duplicate.stderr.contains("A user with this email already exists"))

        let unknown = try await CrierProcess.run(["token", "create", "nobody@example.com"], directory: dir)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("No user with this email"))

        let short = try await CrierProcess.run(["user", "add", "bob@example.com"], directory: dir, stdin: "short\n")
        #expect(short.status != 0)
        #expect(short.stderr.contains("password must be at least 8 characters"))
    }

    @Test("migrate creates the database and can run again")
    func migrate() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for _ in 0..<2 {
            let result = try await CrierProcess.run(["migrate", "--database", "data.sqlite"], directory: dir)
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("data.sqlite").path))
    }

    @Test("bad settings are a clear error, not a crash", arguments: [
        (["serve", "--bind", "localhost"], "--bind: 'localhost' is not HOST:PORT"),
        (["serve", "--default-time-zone", "Mars/Base"], "--default-time-zone: 'Mars/Base' is not an IANA time zone"),
        (["serve", "--database", "postgres://u:secretpw@localhost/db"], "PostgreSQL is not supported by this build yet"),
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
        for variable in ["CRIER_BIND", "CRIER_DATABASE_URL", "CRIER_DEFAULT_TIME_ZONE", "CRIER_LOG_LEVEL"] {
            #expect(result.stdout.contains(variable), "\(variable)")
        }
    }

    @Test("serve keeps campaigns across a restart and exits 0 on SIGTERM and SIGINT")
    func serveRestart() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
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
