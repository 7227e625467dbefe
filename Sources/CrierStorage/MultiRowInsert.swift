import GRDB

/// Inserts many rows into one table, 64, 32, … 1 rows to a statement. Each run of a statement has a
/// fixed cost (an AUTOINCREMENT table's counter read and written back, the program started and
/// reset, GRDB's checks), which paid per row was a fifth of writing a year of daily messages. The
/// row counts are fixed so that a connection caches a handful of statements; any count is a sum of
/// a few of them.
struct MultiRowInsert: Sendable {
    let columnCount: Int
    /// (rows, SQL), most rows first.
    private let statements: [(rows: Int, sql: String)]

    init(table: String, columns: [String]) {
        columnCount = columns.count
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        statements = [64, 32, 16, 8, 4, 2, 1].map { rows in
            (rows, "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                + Array(repeating: row, count: rows).joined(separator: ", "))
        }
    }

    /// Inserts `count` rows; `appendRow(index, values)` appends row `index`'s values, one per column.
    func insert(
        count: Int, db: Database, appendRow: (Int, inout [(any DatabaseValueConvertible)?]) throws -> Void
    ) throws {
        var start = 0
        while start < count {
            let remaining = count - start
            guard let (rows, sql) = statements.first(where: { $0.rows <= remaining }) else { return }
            var values: [(any DatabaseValueConvertible)?] = []
            values.reserveCapacity(rows * columnCount)
            for index in start..<(start + rows) { try appendRow(index, &values) }
            try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(values))
            start += rows
        }
    }
}
