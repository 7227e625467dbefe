import Logging

/// The embedded default gateway. It does not talk to WhatsApp: every session is always WORKING and
/// messages are only printed and recorded, so Crier runs end to end on a fresh machine.
public struct ConsoleGateway: Gateway {
    public let kind = "console"

    public init() {}

    public func ensureSession(named name: String) async throws -> SessionStatus { .working }
    public func status(ofSession name: String) async throws -> SessionStatus { .working }
    public func checkHealth() async throws {}
}
