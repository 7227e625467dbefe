import Foundation

/// The dispatcher's knobs (DESIGN §5), with the documented defaults.
public struct DispatcherConfiguration: Sendable {
    /// How long after its scheduled time a message may still go out; later it is `missed`. 0–24 h.
    public var grace: TimeInterval = 3600
    /// Random gap between two sends through one session, in seconds (`0...0` for none).
    public var sendGap: ClosedRange<Double> = 2...5
    /// Gateway requests open at once, across sessions.
    public var maxInFlight = 100
    /// Sends tried per message before it fails.
    public var maxAttempts = 5
    /// How long a claim is ours without renewal; a dead process's claims are recovered after it.
    public var leaseDuration: TimeInterval = 30
    /// Claims taken per round, and the most held (queued behind pacing) at once. Held claims cost
    /// memory: a 10,000-message burst peaked at 69 MB resident holding up to 5,000, 58 MB with 2,000,
    /// at the same throughput (BENCHMARKS.md).
    public var claimBatchSize = 500
    public var maxHeldClaims = 2000
    /// How long a reserved id waits for others to be written with it (the send waits for the write).
    public var reservationLinger: Duration = .milliseconds(2)
    /// How long an outcome waits for others to be written with it (nothing waits on it but its lane).
    public var outcomeLinger: Duration = .milliseconds(5)
    /// How often the loop recovers dead processes' claims and marks overdue messages missed.
    public var housekeepingInterval: TimeInterval = 1
    /// The floor of the wake-up: due work is looked for at least this often.
    public var recheckInterval: TimeInterval = 1
    /// How long messages of a session that is not WORKING wait before it is asked again.
    public var sessionRecheck: TimeInterval = 5
    /// Retry backoff: `base × 2^(attempt−1)`, capped, with jitter.
    public var backoffBase: TimeInterval = 5
    public var backoffCap: TimeInterval = 300
    /// How long in-flight sends may take to finish on shutdown.
    public var shutdownTimeout: Duration = .seconds(10)
    /// How far before a possibly-delivered send the gateway's history is searched.
    public var reconcileSlack: TimeInterval = 60
    /// How long after an uncertain send the gateway is asked whether it went out: WAHA may finish a
    /// send after the client gave up, so asking sooner could find nothing and send twice. At least the
    /// send timeout.
    public var reconcileDelay: TimeInterval = 35
    /// How often the dispatcher may start (STOPPED) or restart (FAILED) a session at the gateway.
    public var sessionRestartInterval: TimeInterval = 300

    public init() {}

    /// Parses a gap like `2s-5s`, `3s`, `500ms-1s` or `0`.
    public static func parseGap(_ text: String) -> ClosedRange<Double>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count) else { return nil }
        let bounds = parts.compactMap(parseDuration)
        guard bounds.count == parts.count, let low = bounds.first, let high = bounds.last, low <= high else { return nil }
        return low...high
    }

    /// Parses `90`, `90s`, `500ms`, `15m`, `1h` into seconds.
    public static func parseDuration(_ text: String) -> Double? {
        let text = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
            return value * scale
        }
        guard let value = Double(text), value >= 0, value.isFinite else { return nil }
        return value
    }
}

/// Where randomness (jitter, pacing gaps) comes from, so tests can pin it.
public protocol RandomSource: Sendable {
    /// A value in `0...1`.
    func unit() -> Double
}

public struct SystemRandomSource: RandomSource {
    public init() {}
    public func unit() -> Double { Double.random(in: 0...1) }
}
