import Synchronization

/// Whether the gateway refused our credentials (401/403), which no retry can fix: shown by
/// `/health/ready` until a request succeeds again.
public final class GatewayHealth: Sendable {
    private let refusal = Mutex<String?>(nil)

    public init() {}

    /// The gateway's reason, while credentials are refused.
    public var credentialsRefused: String? { refusal.withLock { $0 } }

    public func recordCredentialsRefused(_ reason: String) { refusal.withLock { $0 = reason } }
    public func recordSuccess() { refusal.withLock { $0 = nil } }
}
