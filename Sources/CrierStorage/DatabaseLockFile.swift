import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Crier's own locks on a SQLite database, kept in a file of their own beside it (`<database>.lock`).
///
/// Never the database file itself: closing any descriptor of a file drops every POSIX lock the
/// process holds on it, SQLite's included, and the next client to close the database would then
/// believe it was the last one and delete the live WAL (issue 20; SQLite's "How To Corrupt An SQLite
/// Database File", §2.2). The locks are Linux open-file-description locks (`F_OFD_SETLK`), which
/// belong to one descriptor rather than to the process, so several stores in one process, and
/// closing one of them, never disturb each other.
///
/// Two byte ranges, two meanings:
/// - byte 0, **in use**: every store open on the file holds it shared for its lifetime; `crier
///   restore` takes it exclusively, so it refuses while a server (or any other Crier process) has
///   the database open, and nothing opens the database while a restore runs.
/// - byte 1, **migrating**: held exclusively while migrations are applied, so two processes never
///   interleave reading what is applied with applying the rest.
final class DatabaseLockFile: @unchecked Sendable {
    enum Range: Int64 {
        case inUse = 0
        case migrating = 1
    }

    struct Busy: Error {}

    let path: String
    private let descriptor: Int32

    /// Opens (creating if needed, owner-only like the database) the lock file of `databasePath`.
    init(databasePath: String) throws {
        path = databasePath + ".lock"
        descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw DatabaseLockError("Cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { Glibc.close(descriptor) }

    /// Takes `range`, waiting for it when `wait`; throws `Busy` when it is held elsewhere and not waiting.
    func lock(_ range: Range, exclusive: Bool, wait: Bool) throws {
        try apply(range, type: exclusive ? F_WRLCK : F_RDLCK, wait: wait)
    }

    func unlock(_ range: Range) {
        try? apply(range, type: F_UNLCK, wait: false)
    }

    /// Runs `body` holding `range` exclusively, waiting for it first.
    func withExclusive<T>(_ range: Range, _ body: () throws -> T) throws -> T {
        try lock(range, exclusive: true, wait: true)
        defer { unlock(range) }
        return try body()
    }

    private func apply(_ range: Range, type: Int32, wait: Bool) throws {
        var request = Glibc.flock()
        request.l_type = Int16(type)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = off_t(range.rawValue)
        request.l_len = 1
        request.l_pid = 0  // required by open-file-description locks
        while fcntl(descriptor, wait ? Self.setLockWait : Self.setLock, &request) != 0 {
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EACCES { throw Busy() }
            throw DatabaseLockError("Cannot lock \(path): \(String(cString: strerror(errno)))")
        }
    }

    // Linux's open-file-description lock commands (<fcntl.h> with _GNU_SOURCE; not in Swift's Glibc).
    private static let setLock: Int32 = 37  // F_OFD_SETLK
    private static let setLockWait: Int32 = 38  // F_OFD_SETLKW
}

/// A lock file that cannot be used, or a database that another process holds against what was asked.
public struct DatabaseLockError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
