import CrierCore
import Foundation

/// Bounds dashboard sign-ups: a few per client network in a window, so one client cannot fill the
/// admin's approval list (nor spend the server's CPU on a bcrypt hash per request).
public actor SignUpLimiter {
    private let perAddress: Int
    private let window: TimeInterval
    private let clock: any WallClock
    private var recent: [String: [Date]] = [:]
    private let maxKeys = 100_000

    public init(perAddress: Int = 3, window: TimeInterval = 3600, clock: any WallClock) {
        self.perAddress = perAddress
        self.window = window
        self.clock = clock
    }

    /// Counts a sign-up from `address` and answers `nil`, or the seconds until one is allowed.
    public func admit(address: String?) -> TimeInterval? {
        let now = clock.now()
        let key = address.flatMap(IPAddress.init)?.networkKey ?? "unknown"
        let kept = (recent[key] ?? []).filter { now.timeIntervalSince($0) < window }
        if kept.count >= perAddress, let oldest = kept.first {
            recent[key] = kept
            return max(1, (oldest + window).timeIntervalSince(now))
        }
        if recent.count >= maxKeys { recent = recent.filter { $0.value.contains { now.timeIntervalSince($0) < window } } }
        if recent.count >= maxKeys { recent.removeAll() }
        recent[key] = kept + [now]
        return nil
    }
}
