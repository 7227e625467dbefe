import CrierCore
import GRDB

// The names of states and outcomes have one definition, the Swift enums; SQL takes them from there,
// as bound values or (in fixed statements) as quoted literals.

extension MessageStatus: DatabaseValueConvertible {
    /// `'pending'`: the status as a SQL literal.
    var sql: String { "'\(rawValue)'" }
}

extension AttemptOutcome: DatabaseValueConvertible {
    var sql: String { "'\(rawValue)'" }
}
