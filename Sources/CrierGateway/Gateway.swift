/// The status of a WhatsApp session at the gateway, as WAHA names it. Only `WORKING` can send.
public enum SessionStatus: String, Sendable, Codable, CaseIterable {
    case stopped = "STOPPED"
    case starting = "STARTING"
    case scanQRCode = "SCAN_QR_CODE"
    case passkeyRequired = "PASSKEY_REQUIRED"
    case passkeyConfirmationRequired = "PASSKEY_CONFIRMATION_REQUIRED"
    case working = "WORKING"
    case failed = "FAILED"
}

/// A WhatsApp gateway: the thing that owns phone-number sessions and sends for them.
public protocol Gateway: Sendable {
    /// Short name for logs and health output (`console`, `waha`).
    var kind: String { get }
    /// Creates and starts the session when the gateway does not have it yet; returns its status.
    func ensureSession(named name: String) async throws -> SessionStatus
    /// The session's live status.
    func status(ofSession name: String) async throws -> SessionStatus
    /// Whether the gateway itself answers (readiness).
    func checkHealth() async throws
}
