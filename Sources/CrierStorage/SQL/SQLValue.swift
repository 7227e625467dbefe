import CrierCore
import Foundation

/// A value as both back ends store it: every instant is milliseconds (`Int64`), every enum its raw
/// text, a flag a boolean (an integer in SQLite).
public enum SQLValue: Hashable, Sendable {
    case null
    case int(Int64)
    case text(String)
    case bool(Bool)

    public init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }
    public init(_ number: Int64?) { self = number.map(SQLValue.int) ?? .null }
    public init(_ number: Int) { self = .int(Int64(number)) }
    public init(_ instant: Date?) { self = instant.map { .int($0.millis) } ?? .null }
}

/// A result row of either back end, read by position. The typed readers below turn a value that is
/// not what was written (a damaged or hand-edited database) into a `StoredValueError` for that one
/// read: the one policy for a bad stored value.
public protocol StoredRow {
    /// The value at `index`; `.null` past the last column.
    func sqlValue(at index: Int) throws -> SQLValue
}

extension StoredRow {
    public func int64(_ index: Int) throws -> Int64 {
        guard let value = try optionalInt64(index) else { throw StoredValueError(column: "#\(index)", value: "NULL") }
        return value
    }

    public func optionalInt64(_ index: Int) throws -> Int64? {
        switch try sqlValue(at: index) {
        case .null: return nil
        case .int(let value): return value
        case .bool(let flag): return flag ? 1 : 0
        case .text(let text): throw StoredValueError(column: "#\(index)", value: text)
        }
    }

    public func int(_ index: Int) throws -> Int {
        let value = try int64(index)
        guard let narrowed = Int(exactly: value) else { throw StoredValueError(column: "#\(index)", value: "\(value)") }
        return narrowed
    }

    public func optionalInt(_ index: Int) throws -> Int? {
        guard let value = try optionalInt64(index) else { return nil }
        guard let narrowed = Int(exactly: value) else { throw StoredValueError(column: "#\(index)", value: "\(value)") }
        return narrowed
    }

    public func text(_ index: Int) throws -> String {
        guard let value = try optionalText(index) else { throw StoredValueError(column: "#\(index)", value: "NULL") }
        return value
    }

    public func optionalText(_ index: Int) throws -> String? {
        switch try sqlValue(at: index) {
        case .null: return nil
        case .text(let text): return text
        case .int(let number): throw StoredValueError(column: "#\(index)", value: "\(number)")
        case .bool(let flag): throw StoredValueError(column: "#\(index)", value: "\(flag)")
        }
    }

    public func bool(_ index: Int) throws -> Bool {
        switch try sqlValue(at: index) {
        case .bool(let flag): return flag
        case .int(let number) where number == 0 || number == 1: return number == 1
        case let other: throw StoredValueError(column: "#\(index)", value: "\(other)")
        }
    }

    public func date(_ index: Int) throws -> Date { Date(millis: try int64(index)) }
    public func optionalDate(_ index: Int) throws -> Date? { try optionalInt64(index).map(Date.init(millis:)) }

    public func localDate(_ index: Int) throws -> LocalDate {
        try StoredValueError.date(try text(index), column: "#\(index)")
    }

    public func localTime(_ index: Int) throws -> LocalTime {
        try StoredValueError.time(try text(index), column: "#\(index)")
    }

    /// A stored enum's raw value, read back as the enum.
    public func value<Value: RawRepresentable>(_ index: Int, as type: Value.Type) throws -> Value where Value.RawValue == String {
        let raw = try text(index)
        guard let value = Value(rawValue: raw) else { throw StoredValueError(column: "#\(index)", value: raw) }
        return value
    }
}

/// A row copied out of its result, for results returned from a back end's connection.
public struct SQLRow: StoredRow, Sendable {
    public let values: [SQLValue]
    public init(_ values: [SQLValue]) { self.values = values }
    public func sqlValue(at index: Int) -> SQLValue { index < values.count ? values[index] : .null }
}
