import ArgumentParser
import CrierServer
import CrierStorage
import Foundation

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the SQLite database to DEST, while a server may be running.",
        discussion: """
            The copy is the database as it was when the backup began; the server goes on working meanwhile.
            DEST must not exist. On PostgreSQL, use pg_dump instead (see the README).
            """)

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: "The file to write.") var destination: String

    func run() async throws {
        try await reportingFailures {
            let path = try databaseOptions.sqlitePath(
                forCommand: "backup", instead: "pg_dump --format=custom --file=crier.dump URL")
            try DatabaseOptions.requireFile(path)
            let started = ContinuousClock.now
            let summary = try SQLiteBackup.backup(try SQLiteStore.open(path: path), to: destination)
            print("Backed up \(path) to \(destination): \(describe(summary)), in \(seconds(since: started)).")
        }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a backup made by `crier backup` in place of the SQLite database; refused while a server has it open.",
        discussion: """
            The database it replaces is kept beside it, named <database>.before-restore-<time>.
            On PostgreSQL, use pg_restore instead (see the README).
            """)

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: "The backup to restore.") var source: String

    func run() async throws {
        try await reportingFailures {
            let path = try databaseOptions.sqlitePath(
                forCommand: "restore", instead: "pg_restore --clean --dbname=URL crier.dump")
            let summary = try SQLiteBackup.restore(from: source, to: path, at: Date())
            print("Restored \(source) to \(path): \(describe(summary)).")
            if let previous = summary.previousCopy { print("The database it replaced is kept as \(previous).") }
        }
    }
}

extension DatabaseOptions {
    /// The SQLite file these commands work on; PostgreSQL has its own tools, named in the error.
    func sqlitePath(forCommand command: String, instead: String) throws -> String {
        switch try location() {
        case .sqlite(let path):
            return path
        case .postgres:
            throw ConfigurationError(
                "crier \(command) copies a SQLite database; for PostgreSQL use its own tools, e.g. \(instead)")
        }
    }
}

private func describe(_ summary: DatabaseCopySummary) -> String {
    let megabytes = Double(summary.bytes) / 1_048_576
    return "\(summary.campaigns) campaign\(summary.campaigns == 1 ? "" : "s"), "
        + (megabytes < 0.1 ? "\(summary.bytes) bytes" : String(format: "%.1f MB", megabytes))
}

private func seconds(since start: ContinuousClock.Instant) -> String {
    let elapsed = ContinuousClock.now - start
    return String(format: "%.2f s", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}
