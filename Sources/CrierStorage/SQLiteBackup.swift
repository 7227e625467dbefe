import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// What a backup or a restore copied, for the command line to report.
public struct DatabaseCopySummary: Sendable {
    public let bytes: Int64
    public let campaigns: Int
    /// Where the database that a restore replaced was put aside; `nil` for a backup, or when there was none.
    public let previousCopy: String?
}

/// `crier backup` and `crier restore` on a SQLite file.
///
/// A backup is SQLite's online backup API inside one read transaction: a consistent snapshot of the
/// moment it began, copied while the server goes on writing (WAL readers never block writers). It
/// is not copied in steps that each take a new snapshot: those start again whenever another process
/// writes, so under a server's steady load they might never finish, while one snapshot takes a time
/// bounded by the file's size. The copy is checked (`quick_check`) and appears under its name only
/// when complete.
public enum SQLiteBackup {
    /// Copies the database of `store` to `destination`, which must not exist yet.
    public static func backup(_ store: SQLiteStore, to destination: String) throws -> DatabaseCopySummary {
        let source = store.writer.path
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw DatabaseLockError("\(destination) already exists; name a new file or remove it first")
        }
        guard try canonical(destination) != canonical(source) else {
            throw DatabaseLockError("The backup must not overwrite the database itself")
        }
        let partial = destination + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        let campaigns: Int
        do {
            campaigns = try copy(from: store.writer, toNewFileAt: partial, journal: "DELETE")
            try publish(partial, as: destination)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        return DatabaseCopySummary(bytes: size(of: destination), campaigns: campaigns, previousCopy: nil)
    }

    /// Puts the backup at `source` in place of the database at `databasePath`. Refused while any
    /// Crier process has the database open; nothing opens it while the restore runs. The database it
    /// replaces is kept beside it as `<database>.before-restore-<time>`.
    public static func restore(from source: String, to databasePath: String, at now: Date) throws -> DatabaseCopySummary {
        guard FileManager.default.fileExists(atPath: source) else { throw DatabaseLockError("No backup at \(source)") }
        guard try canonical(source) != canonical(databasePath) else {
            throw DatabaseLockError("The backup to restore is the database itself")
        }
        let backup = try checkedBackup(at: source)

        let lockFile = try DatabaseLockFile(databasePath: databasePath)
        do {
            try lockFile.lock(.inUse, exclusive: true, wait: false)
        } catch is DatabaseLockFile.Busy {
            throw DatabaseLockError(
                "A Crier process has \(databasePath) open (a running server?); stop it, then restore")
        }
        defer { lockFile.unlock(.inUse) }
        try lockFile.withExclusive(.migrating) {}

        let incoming = databasePath + ".restoring"
        try? FileManager.default.removeItem(atPath: incoming)
        let campaigns: Int
        do {
            campaigns = try copy(from: backup, toNewFileAt: incoming, journal: "WAL")
            try backup.close()
        } catch {
            try? FileManager.default.removeItem(atPath: incoming)
            throw error
        }
        var previousCopy: String?
        if FileManager.default.fileExists(atPath: databasePath) {
            try foldWriteAheadLog(of: databasePath)
            let aside = databasePath + ".before-restore-" + timestamp(now)
            try FileManager.default.moveItem(atPath: databasePath, toPath: aside)
            previousCopy = aside
        }
        try publish(incoming, as: databasePath)
        return DatabaseCopySummary(bytes: size(of: databasePath), campaigns: campaigns, previousCopy: previousCopy)
    }

    /// The backup at `path`, opened read-only, once it proves to be a whole Crier database this
    /// version can run.
    private static func checkedBackup(at path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.read { db in
                let check = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
                guard check == "ok" else { throw DatabaseLockError("\(path) is damaged: \(check)") }
                let applied = try SQLiteMigrations.migrator.appliedIdentifiers(db)
                let known = Set(SQLiteMigrations.migrator.migrations)
                guard try db.tableExists("campaigns"), !applied.isEmpty else {
                    throw DatabaseLockError("\(path) is not a Crier database")
                }
                guard applied.isSubset(of: known) else {
                    throw DatabaseLockError("\(path) was written by a newer Crier; restore it with that version")
                }
            }
        } catch let error as DatabaseError {
            throw DatabaseLockError("\(path) is not a readable SQLite database: \(error.message ?? "\(error)")")
        }
        return queue
    }

    /// Copies every page of `source` (one read transaction) into a new file at `path`, checked,
    /// in the given journal mode (a backup is one self-contained file; a restored database uses WAL
    /// like the store's own), and flushed to disk. Returns how many campaigns the copy holds.
    private static func copy(from source: some DatabaseReader, toNewFileAt path: String, journal: String) throws -> Int {
        FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        let target = try DatabaseQueue(path: path)
        try source.backup(to: target)
        let campaigns = try target.writeWithoutTransaction { db in
            let check = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
            guard check == "ok" else { throw DatabaseLockError("The copy failed its check: \(check)") }
            try db.execute(sql: "PRAGMA journal_mode = \(journal)")
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM campaigns") ?? 0
        }
        try target.close()
        try flush(path)
        return campaigns
    }

    /// Moves a whole, flushed copy to its name in one step, and makes the new name durable.
    private static func publish(_ path: String, as name: String) throws {
        guard rename(path, name) == 0 else {
            throw DatabaseLockError("Cannot rename \(path) to \(name): \(String(cString: strerror(errno)))")
        }
        try flush((name as NSString).deletingLastPathComponent.isEmpty ? "." : (name as NSString).deletingLastPathComponent)
    }

    /// Checkpoints the write-ahead log of the database at `path` into the file and lets SQLite remove
    /// it, so the file can be moved alone. A log left behind means another program still has the
    /// database open: refused, since moving the file then would lose what that program writes.
    private static func foldWriteAheadLog(of path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try queue.close()
        let log = (try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber
        if let log, log.int64Value > 0 {
            throw DatabaseLockError("Another program has \(path) open; close it, then restore")
        }
        for leftover in [path + "-wal", path + "-shm"] { try? FileManager.default.removeItem(atPath: leftover) }
    }

    private static func size(of path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    private static func flush(_ path: String) throws {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw DatabaseLockError("Cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw DatabaseLockError("Cannot flush \(path): \(String(cString: strerror(errno)))") }
    }

    private static func canonical(_ path: String) throws -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    private static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }
}
