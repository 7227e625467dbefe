import CrierCore
import GRDB

/// The embedded back end's part in the statements both back ends share (`SQLBackend`): each runs as
/// its `sqlite` text, a cached statement on the connection.
extension SQLiteStore: SQLBackend {
    /// On the point reader (`pointRead`): every shared read is one statement over an index.
    public func rows(_ statement: SharedStatement, _ arguments: [SQLValue]) async throws -> [SQLRow] {
        try pointRead { db in try Self.rows(of: db.cachedStatement(sql: statement.sqlite), arguments) }
    }

    public func transaction(
        _ steps: [SQLStep], check: @escaping @Sendable (_ step: Int, _ result: SQLStepResult) throws -> Void
    ) async throws -> [SQLStepResult] {
        try await transaction { db in
            try steps.enumerated().map { index, step in
                let rows = try Self.rows(of: db.cachedStatement(sql: step.statement.sqlite), step.arguments)
                let result = SQLStepResult(rows: rows, changes: db.changesCount)
                try check(index, result)
                return result
            }
        }
    }

    /// Runs `statement` to its end, copying out each row it yields.
    private static func rows(of statement: Statement, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let cursor = try Row.fetchCursor(statement, arguments: StatementArguments(arguments.map(\.databaseValue)))
        var rows: [SQLRow] = []
        while let row = try cursor.next() { rows.append(SQLRow(row.databaseValues.map(SQLValue.init))) }
        return rows
    }
}

extension SQLValue {
    /// A flag is stored as 0 or 1, as GRDB stores `Bool`.
    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .int(let number): return number.databaseValue
        case .text(let text): return text.databaseValue
        case .bool(let flag): return flag.databaseValue
        }
    }

    /// SQLite's storage classes as Crier's values; Crier stores no real numbers or blobs in the
    /// shared tables, so those read back as text that no typed reader accepts.
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let number): self = .int(number)
        case .string(let text): self = .text(text)
        case .double(let number): self = .text("\(number)")
        case .blob(let bytes): self = .text("<\(bytes.count) bytes>")
        }
    }
}

/// GRDB's rows read where they lie, without copying (the campaign reads).
extension Row: StoredRow {
    public func sqlValue(at index: Int) -> SQLValue {
        guard index < count else { return .null }
        let value: DatabaseValue = self[index]
        return SQLValue(value)
    }
}
