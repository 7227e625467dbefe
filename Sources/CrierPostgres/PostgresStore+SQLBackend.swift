import CrierStorage
import PostgresNIO

/// PostgreSQL's part in the statements both back ends share (`SQLBackend`): each runs as its
/// `postgres` text with its arguments bound.
extension PostgresStore: SQLBackend {
    public func rows(_ statement: SharedStatement, _ arguments: [SQLValue]) async throws -> [SQLRow] {
        try await bounded { [client, logger] in
            try await client.query(PostgresQuery(statement, arguments), logger: logger).collect().map(SQLRow.init(postgres:))
        }
    }

    public func transaction(
        _ steps: [SQLStep], check: @escaping @Sendable (_ step: Int, _ result: SQLStepResult) throws -> Void
    ) async throws -> [SQLStepResult] {
        try await transaction { [logger] connection in
            var results: [SQLStepResult] = []
            for (index, step) in steps.enumerated() {
                // The future-returning form is the one that reports how many rows a statement changed.
                let result = try await connection.query(PostgresQuery(step.statement, step.arguments), logger: logger).get()
                let stepResult = SQLStepResult(rows: try result.rows.map(SQLRow.init(postgres:)), changes: result.metadata.rows ?? 0)
                try check(index, stepResult)
                results.append(stepResult)
            }
            return results
        }
    }
}

extension PostgresQuery {
    /// A shared statement's PostgreSQL text with its arguments bound in order (`$1`, `$2`, …).
    init(_ statement: SharedStatement, _ arguments: [SQLValue]) {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: bindings.appendNull()
            case .int(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .bool(let flag): bindings.append(flag)
            }
        }
        self.init(unsafeSQL: statement.postgres, binds: bindings)
    }
}

extension SQLRow {
    init(postgres row: PostgresRow) throws { self.init(try row.map(SQLValue.init)) }
}

/// PostgresNIO's rows read by position (the campaign reads).
extension PostgresRandomAccessRow: StoredRow {
    public func sqlValue(at index: Int) throws -> SQLValue {
        guard index < count else { return .null }
        return try SQLValue(self[index])
    }
}

extension SQLValue {
    /// A cell as Crier's values: the column types Crier's schema uses (integers, text, booleans).
    init(_ cell: PostgresCell) throws {
        guard cell.bytes != nil else {
            self = .null
            return
        }
        switch cell.dataType {
        case .int2, .int4, .int8: self = .int(try cell.decode(Int64.self))
        case .bool: self = .bool(try cell.decode(Bool.self))
        default: self = .text(try cell.decode(String.self))
        }
    }
}
