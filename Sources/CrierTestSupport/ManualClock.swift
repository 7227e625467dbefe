import CrierCore
import Foundation
import Synchronization

/// A wall clock that stands still until a test moves it.
public final class ManualClock: WallClock {
    private let current: Mutex<Date>

    public init(_ start: Date) { current = Mutex(start) }

    /// A clock set to an ISO-8601 UTC instant such as `2026-03-01T08:00:00Z`.
    public convenience init(_ iso: String) { self.init(Date(iso: iso)) }

    public func now() -> Date { current.withLock { $0 } }

    public func set(_ date: Date) { current.withLock { $0 = date } }

    public func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

extension Date {
    /// Parses an ISO-8601 UTC instant; test fixtures only, so a typo is a programming error.
    public init(iso: String) {
        guard let date = ISO8601DateFormatter().date(from: iso) else { preconditionFailure("bad ISO date \(iso)") }
        self = date
    }

    /// ISO-8601 UTC with whole seconds, as the API writes it.
    public var iso: String { ISO8601DateFormatter().string(from: self) }
}
