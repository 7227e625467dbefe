/// The database cannot do what was asked right now — the disk is full, the file is damaged, the
/// server is unreachable — through no fault of the caller: the API answers 503 and readiness is red.
public struct StoreUnavailable: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong, in words an operator can act on; never a query or its values.
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { "The database is unavailable: \(reason)" }
}
