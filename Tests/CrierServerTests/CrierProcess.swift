import CrierTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The built `crier` executable, run as a child process with its output in files.
final class CrierProcess: @unchecked Sendable {
    /// `crier` sits beside the test bundle in the build folder (`swift test` builds it).
    static let executable: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("crier").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("crier")
    }()

    let process: Spawned
    let stdoutURL: URL
    let stderrURL: URL

    init(_ arguments: [String], directory: URL, environment: [String: String] = [:], stdin: String? = nil) throws {
        stdoutURL = directory.appendingPathComponent("out-\(UUID()).log")
        stderrURL = directory.appendingPathComponent("err-\(UUID()).log")
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CRIER_") }
        env.merge(environment) { $1 }
        process = try Spawned(
            Self.executable.path, arguments, directory: directory.path, environment: env, stdout: stdoutURL.path,
            stderr: stderrURL.path)
        if let stdin { process.write(stdin) }
        process.closeInput()
    }

    /// Runs to completion and returns (exit code, stdout, stderr).
    static func run(
        _ arguments: [String], directory: URL, environment: [String: String] = [:], stdin: String? = nil
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try CrierProcess(arguments, directory: directory, environment: environment, stdin: stdin)
        let status = await child.waitForExit(timeout: 60)
        return (status ?? -1, child.stdout, child.stderr)
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Waits until the server logs its listening port and returns it.
    func waitForListeningPort(timeout: TimeInterval = 60) async throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let range = stderr.range(of: "listening on 127.0.0.1:") {
                let digits = stderr[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) { return port }
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessError("server did not start: \(stderr)")
    }

    func signal(_ signal: Int32) { process.signal(signal) }

    /// The exit status, or `nil` if it is still running after `timeout` seconds.
    func waitForExit(timeout: TimeInterval) async -> Int32? { await process.waitForExit(timeout: timeout) }

    deinit { if process.isRunning { process.signal(SIGTERM) } }
}

struct ProcessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A minimal JSON HTTP call over real sockets.
func httpJSON(
    _ method: String, _ url: String, token: String? = nil, body: [String: Any]? = nil
) async throws -> (status: Int, json: Any?) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    if let body {
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    let (data, response) = try await URLSession.shared.data(for: request)
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    return (status, data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data))
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("crier-\(UUID())")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A loopback port nothing listens on now (a server that must know its own address before it
/// starts, for its public URL, is given one).
func freeLoopbackPort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            Glibc.bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
        }
    }
    guard bound else { throw ProcessError("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
