import CrierTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
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
        guard await Self.browserIsThere() else { return }
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

    static let truthScript = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("browser/truthful_dashboard.py")

    /// Issue 21 in a real browser, against a server that sends through the WAHA double (which pairs
    /// by QR code and posts receipts): the QR code, WORKING, sends, a missed message, kept forms, the
    /// live preview and every page at 390 px, each without a reload; the list's delay is measured.
    @Test("the dashboard tells the truth as it happens: QR code, WORKING, sends, a missed message, kept forms, phone widths")
    func truthfulDashboard() async throws {
        guard await Self.browserIsThere() else { return }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let screenshots = FileManager.default.temporaryDirectory.appendingPathComponent("crier-screenshots-\(UUID())")
        try FileManager.default.createDirectory(at: screenshots, withIntermediateDirectories: true)
        try await WAHADouble.withRunning { double in
            double.setStatusAfterStart(.scanQRCode)
            double.setStartingFor(.seconds(3))  // as WAHA: the QR code comes a few seconds after the start
            let port = try freeLoopbackPort()
            let server = try CrierProcess(
                [
                    "serve", "--database", "crier.sqlite", "--bind", "127.0.0.1:\(port)", "--gateway", "waha",
                    "--waha-url", double.baseURL, "--public-url", "http://127.0.0.1:\(port)", "--send-gap", "1s",
                    "--grace", "30s",
                ],
                directory: dir, environment: ["CRIER_WEBHOOK_SECRET": "the webhook secret of this test"])
            _ = try await server.waitForListeningPort()
            let (status, output) = try await Self.run(
                "/usr/bin/env", ["python3", Self.truthScript.path, "http://127.0.0.1:\(port)", double.baseURL],
                environment: ["CRIER_SCREENSHOTS": screenshots.path], timeout: 600)
            #expect(status == 0, "browser flow failed:\n\(output)\nserver log:\n\(server.stderr.suffix(4000))")
            #expect(output.contains("truthful dashboard: all steps passed"))
            for line in output.split(separator: "\n") where line.contains("delays") || line.contains("shown") || line.contains("screenshots") {
                print(line)
            }
            server.signal(SIGTERM)
            _ = await server.waitForExit(timeout: 20)
        }
    }

    /// Whether a browser can be driven here; when not, the test is skipped with the reason printed,
    /// or fails under `CRIER_REQUIRE_BROWSER=1` (CI).
    static func browserIsThere() async -> Bool {
        guard let missing = await missingBrowser() else { return true }
        if ProcessInfo.processInfo.environment["CRIER_REQUIRE_BROWSER"] == "1" {
            Issue.record("CRIER_REQUIRE_BROWSER=1 but \(missing)")
        } else {
            print("BrowserFlowTests skipped: \(missing) (install chromium, chromium-driver and `pip install selenium`)")
        }
        return false
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
        let status = try await Spawned.run(
            executable, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            output: log.path, timeout: timeout)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return (status ?? -1, output)
    }
}
