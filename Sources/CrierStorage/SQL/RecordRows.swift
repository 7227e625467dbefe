import CrierCore
import Foundation

// Each record's columns and how a row of them reads back, declared once for both back ends. Rows are
// read by position, from the columns listed here: by name, GRDB compares each name with every
// column's, and `SELECT *` copied columns nobody read (the password hash at every API request).

extension User {
    private static let columnNames = ["id", "public_id", "email", "name", "is_admin", "created_at", "access"]
    /// The columns `init(row:)` reads, in its order; `qualifiedColumns` the same of table alias `u`.
    package static let columns = columnNames.joined(separator: ", ")
    package static let qualifiedColumns = columnNames.map { "u." + $0 }.joined(separator: ", ")
    package static let columnCount = columnNames.count

    package init(row: some StoredRow) throws {
        self.init(
            id: try row.int64(0), publicId: try row.text(1), email: try row.text(2), name: try row.optionalText(3),
            isAdmin: try row.bool(4), createdAt: try row.date(5), access: try row.value(6, as: UserAccess.self))
    }
}

extension WhatsAppSession {
    package static let columns = "public_id, name, owner_id, created_at"

    package init(row: some StoredRow) throws {
        self.init(id: try row.text(0), name: try row.text(1), ownerId: try row.int64(2), createdAt: try row.date(3))
    }
}

extension APITokenInfo {
    package static let columns = "public_id, label, created_at, last_used_at"

    package init(row: some StoredRow) throws {
        self.init(
            id: try row.text(0), label: try row.optionalText(1), createdAt: try row.date(2),
            lastUsedAt: try row.optionalDate(3))
    }
}
