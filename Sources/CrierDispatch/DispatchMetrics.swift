import Prometheus
import Synchronization

/// Why a message failed for good, as a metric label. Each counter has only the reasons that can
/// apply to it, so `/metrics` never shows a series that can only ever be zero.
public enum FailedReason: String, Sendable, CaseIterable {
    case gatewayRejected = "gateway_rejected"
    case credentialsRefused = "credentials_refused"
    case deliveryUnknown = "delivery_unknown"
    case attemptsExhausted = "attempts_exhausted"
}

/// Why a message's time passed beyond the grace window.
public enum MissedReason: String, Sendable, CaseIterable {
    case graceExpired = "grace_expired"
    case sessionNotWorking = "session_not_working"
    case gatewayUnreachable = "gateway_unreachable"
}

/// Why a send is tried again.
public enum RetriedReason: String, Sendable, CaseIterable {
    case gatewayUnreachable = "gateway_unreachable"
    case possiblyDelivered = "possibly_delivered"
}

/// The dispatcher's Prometheus metrics, on an injected registry (served at `/metrics`).
public struct DispatchMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let sentCounter: Counter
    let recoveredCounter: Counter
    let lateness: DurationHistogram
    let pacingDelay: DurationHistogram

    static let latenessBuckets: [Duration] = [
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(300), .seconds(900), .seconds(3600),
    ]

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        sentCounter = registry.makeCounter(
            descriptor: Self.name("messages_sent", "total", "Messages accepted by the gateway"))
        recoveredCounter = registry.makeCounter(
            descriptor: Self.name("claims_recovered", "total", "Claims recovered from a process that stopped renewing them"))
        lateness = registry.makeDurationHistogram(
            descriptor: Self.name(
                "dispatch_lateness", "seconds", "Time from a message's scheduled instant to its send, excluding pacing delay"),
            buckets: Self.latenessBuckets)
        pacingDelay = registry.makeDurationHistogram(
            descriptor: Self.name("dispatch_pacing_delay", "seconds", "Time a due message waited for its session's pacing gap"),
            buckets: Self.latenessBuckets)
        for reason in FailedReason.allCases { _ = counter("failed", reason.rawValue) }
        for reason in MissedReason.allCases { _ = counter("missed", reason.rawValue) }
        for reason in RetriedReason.allCases { _ = counter("retried", reason.rawValue) }
    }

    func sent() { sentCounter.increment() }
    func recovered(_ count: Int) { recoveredCounter.increment(by: Int64(count)) }
    func failed(_ reason: FailedReason, count: Int = 1) { counter("failed", reason.rawValue).increment(by: Int64(count)) }
    func missed(_ reason: MissedReason, count: Int = 1) { counter("missed", reason.rawValue).increment(by: Int64(count)) }
    func retried(_ reason: RetriedReason) { counter("retried", reason.rawValue).increment() }

    private func counter(_ kind: String, _ reason: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("messages_\(kind)", "total", "Messages \(kind), by reason"),
            labels: [("reason", reason)])
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "crier", metricName: metric, unitName: unit, helpText: help)
    }

    /// A histogram of gateway request durations for the WAHA client's observer. Each operation's
    /// histograms are looked up in the registry once, not on every request.
    public static func gatewayRequestObserver(
        registry: PrometheusCollectorRegistry
    ) -> @Sendable (String, Duration, Bool) -> Void {
        let histograms = Mutex<[String: DurationHistogram]>([:])
        return { operation, duration, succeeded in
            let outcome = succeeded ? "ok" : "error"
            let histogram = histograms.withLock { known in
                if let histogram = known[operation + " " + outcome] { return histogram }
                let made = registry.makeDurationHistogram(
                    descriptor: name("gateway_request_duration", "seconds", "Gateway request latency"),
                    labels: [("operation", operation), ("outcome", outcome)],
                    buckets: latenessBuckets)
                known[operation + " " + outcome] = made
                return made
            }
            histogram.record(duration)
        }
    }
}
