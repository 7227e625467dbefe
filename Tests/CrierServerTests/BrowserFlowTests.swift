import Foundation
import Testing

/// The dashboard driven in a real browser (headless Chromium through Selenium) against a real
/// `crier serve`: the script `Tests/browser/dashboard_flow.py` walks an organiser's whole day.
///
/// Needs `chromium`, `chromium-driver` and Python's `selenium`, which `.ci/run` installs. Without
/// them the test is skipped with the reason printed, unless `CRIER_REQUIRE_BROWSER=1` (CI) makes
/// their absence a failure.
@Suite("Dashboard in a real browser")
struct BrowserFlowTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("browser/dashboard_flow.py")

    @Test("setup → login → session → campaign with preview → list → edit → delete → sign-up → approval → isolation → logout")
    func dashboardFlow() async throws {
        if let missing = await Self.missingBrowser() {
            if ProcessInfo.processInfo.environment["CRIER_REQUIRE_BROWSER"] == "1" {
                Issue.record("CRIER_REQUIRE_BROWSER=1 but \(missing)")
            } else {
                print("BrowserFlowTests skipped: \(missing) (install chromium, chromium-driver and `pip install selenium`)")
            }
            return
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try CrierProcess(
            ["serve", "--database", "crier.sqlite", "--bind", "127.0.0.1:0", "--gateway", "console"], directory: dir)
        let port = try await server.waitForListeningPort()
        let (status, output) = try await Self.run(
            "/usr/bin/env", ["python3", Self.script.path, "http://127.0.0.1:\(port)"],
            environment: ["CRIER_SCREENSHOTS": dir.path], timeout: 300)
        #expect(status == 0, "browser flow failed:\n\(output)\nserver log:\n\(server.stderr.suffix(4000))")
        #expect(output.contains("dashboard flow: all steps passed"))
        server.signal(SIGTERM)
        _ = await server.waitForExit(timeout: 20)
    }

    /// What is missing to drive a browser, or `nil`.
    static func missingBrowser() async -> String? {
        let chromedriver = ProcessInfo.processInfo.environment["CHROMEDRIVER"] ?? "/usr/bin/chromedriver"
        guard FileManager.default.isExecutableFile(atPath: chromedriver) else { return "no chromedriver at \(chromedriver)" }
        let probe = try? await run("/usr/bin/env", ["python3", "-c", "import selenium"], timeout: 60)
        guard probe?.status == 0 else { return "python3 cannot import selenium" }
        return nil
    }

    /// Runs a program to completion (polling, so no test thread blocks) and returns its status and
    /// combined output.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval
    ) async throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("browser-\(UUID()).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { process.terminate() }
        try handle.close()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return (process.isRunning ? -1 : process.terminationStatus, output)
    }
}
