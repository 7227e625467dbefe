import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, for tests and benchmarks.
///
/// Not Foundation's `Process`: on Linux its `run()` reads `/proc/self/fd` with a 256-byte copy of
/// each directory entry and crashes now and then in a process with many descriptors open (a test
/// run's servers, sockets and databases) — swift-corelibs-foundation PR #5472, unreleased in Swift
/// 6.3.1. Standard output and error go to files (or are inherited), standard input is a pipe, and
/// no other descriptor of this process reaches the child.
public final class Spawned: @unchecked Sendable {
    public let pid: pid_t
    private let stdinWriter: Int32
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` in `directory`, with exactly `environment`, writing its
    /// output to `stdout` and `stderr` (paths; `nil` inherits this process's).
    public init(
        _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String],
        stdout: String? = nil, stderr: String? = nil
    ) throws {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw SpawnError("pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], STDIN_FILENO)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
        if let stdout { posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644) }
        if let stderr { posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644) }
        if let directory {
            guard let addChdir = Self.addChdir else { throw SpawnError("this C library cannot start a child in a directory") }
            _ = addChdir(&actions, directory)
        }
        // The child must not hold this process's sockets and files: a test that closes a listening
        // socket expects its port refused, and a closed connection must reach its peer.
        guard let addCloseFrom = Self.addCloseFrom else { throw SpawnError("this C library cannot close a child's descriptors") }
        _ = addCloseFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default signal handling (the test runner's ignored signals are not inherited).
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        close(pipeEnds[0])
        guard result == 0 else {
            close(pipeEnds[1])
            throw SpawnError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
        stdinWriter = pipeEnds[1]
        _ = fcntl(stdinWriter, F_SETFD, FD_CLOEXEC)
    }

    deinit {
        closeInput()
        if isRunning { kill(pid, SIGKILL) }
        _ = wait(timeout: 5)
    }

    /// Writes to the child's standard input.
    public func write(_ text: String) {
        let bytes = Array(text.utf8)
        lock.lock()
        defer { lock.unlock() }
        guard stdinWriter >= 0 else { return }
        _ = bytes.withUnsafeBytes { Glibc.write(stdinWriter, $0.baseAddress, $0.count) }
    }

    private var inputClosed = false

    public func closeInput() {
        lock.lock()
        defer { lock.unlock() }
        guard !inputClosed else { return }
        inputClosed = true
        close(stdinWriter)
    }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    public var processIdentifier: Int32 { pid }

    /// Waits without blocking a thread: the status, or `nil` if it still runs after `timeout` seconds.
    public func waitForExit(timeout: TimeInterval) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return terminationStatus
    }

    /// Whether the child still runs (a child that ended is reaped, and its status kept).
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        guard reaped == pid else { return reaped == 0 }
        exitStatus = Self.decode(status)
        return false
    }

    /// The exit status (128 + the signal for a child killed by one), once it ended.
    public var terminationStatus: Int32? {
        _ = isRunning
        lock.lock()
        defer { lock.unlock() }
        return exitStatus
    }

    /// Waits for the child to end, at most `timeout` seconds; its status, or `nil` if it still runs.
    @discardableResult
    public func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { usleep(20_000) }
        return terminationStatus
    }

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+) and `…_addclosefrom_np` (2.34+),
    /// looked up at run time: Swift's Glibc module does not import the GNU extensions.
    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}

extension Spawned {
    /// Runs a program to its end (at most `timeout` seconds, then it is killed); its status (`nil`
    /// when it had to be killed).
    public static func run(
        _ executable: String, _ arguments: [String], directory: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, output: String? = nil,
        timeout: TimeInterval = 120
    ) async throws -> Int32? {
        let child = try Spawned(
            executable, arguments, directory: directory, environment: environment, stdout: output ?? "/dev/null",
            stderr: output ?? "/dev/null")
        child.closeInput()
        if let status = await child.waitForExit(timeout: timeout) { return status }
        child.signal(SIGKILL)
        return nil
    }
}

public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
