import Foundation

/// A statement both back ends run as written, in PostgreSQL's form: parameters `$1`, `$2`, ….
///
/// SQLite runs the same text with `?1`, `?2`, … (derived once, here): it reads `$1` as a *named*
/// parameter and numbers those by first appearance, so `WHERE b = $2 AND a = $1` would bind the
/// arguments swapped (measured), while `?NNN` binds by number as PostgreSQL does.
public struct SharedStatement: Sendable, ExpressibleByStringInterpolation {
    public let postgres: String
    public let sqlite: String

    public init(_ text: String) {
        postgres = text
        // `$` before a digit is a parameter (no shared statement holds one in a literal).
        let bytes = Array(text.utf8)
        let numbered = bytes.indices.map { index in
            bytes[index] == UInt8(ascii: "$") && index + 1 < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + 1])
                ? UInt8(ascii: "?") : bytes[index]
        }
        sqlite = String(decoding: numbered, as: UTF8.self)
    }

    public init(stringLiteral text: String) { self.init(text) }
    public init(stringInterpolation: DefaultStringInterpolation) { self.init(String(stringInterpolation: stringInterpolation)) }

    /// A statement the dialects spell differently (`sqlite` with `?NNN` parameters).
    public init(postgres: String, sqlite: String) {
        self.postgres = postgres
        self.sqlite = sqlite
    }
}

/// One statement of a transaction, with its arguments.
public struct SQLStep: Sendable {
    public let statement: SharedStatement
    public let arguments: [SQLValue]

    public init(_ statement: SharedStatement, _ arguments: [SQLValue] = []) {
        self.statement = statement
        self.arguments = arguments
    }
}

/// What one step of a transaction gave: its rows (`RETURNING` or a query's) and how many rows it changed.
public struct SQLStepResult: Sendable {
    public let rows: [SQLRow]
    public let changes: Int

    public init(rows: [SQLRow], changes: Int) {
        self.rows = rows
        self.changes = changes
    }
}

/// The little both back ends do alike, so that what they store alike (accounts, WhatsApp sessions)
/// is written once, over this, for both (`AccountStore+SQL`, `SessionStore+SQL`).
public protocol SQLBackend: Sendable {
    /// The rows of one statement, run on its own (consistent by itself; no transaction around it).
    func rows(_ statement: SharedStatement, _ arguments: [SQLValue]) async throws -> [SQLRow]
    /// Runs `steps` in order in one transaction, all or none; a step whose `check` throws rolls the
    /// whole transaction back with that error.
    func transaction(
        _ steps: [SQLStep], check: @escaping @Sendable (_ step: Int, _ result: SQLStepResult) throws -> Void
    ) async throws -> [SQLStepResult]
}

extension SQLBackend {
    public func transaction(_ steps: [SQLStep]) async throws -> [SQLStepResult] {
        try await transaction(steps) { _, _ in }
    }

    /// The first row of one statement, or `nil`.
    public func firstRow(_ statement: SharedStatement, _ arguments: [SQLValue]) async throws -> SQLRow? {
        try await rows(statement, arguments).first
    }
}
