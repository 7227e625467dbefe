import CrierCore
import Foundation
import Logging
import Synchronization

/// The embedded default gateway. It does not talk to WhatsApp: every session is always WORKING and
/// each message is only printed (with its chat and time) and recorded, so Crier runs end to end on a
/// fresh machine.
public final class ConsoleGateway: Gateway {
    public let kind = "console"
    private let logger: Logger
    private let recorded = Mutex<[OutgoingRecord]>([])
    /// How many sent messages are kept for reconciliation and tests.
    private let capacity = 10_000

    public struct OutgoingRecord: Hashable, Sendable {
        public let message: OutgoingText
        public let id: String
        public let sentAt: Date
    }

    public init(logger: Logger = Logger(label: "crier.console-gateway")) {
        self.logger = logger
    }

    /// Everything "sent" so far, oldest first.
    public var sent: [OutgoingRecord] { recorded.withLock { $0 } }

    public func sendText(_ message: OutgoingText) async throws -> SendReceipt {
        let record = OutgoingRecord(message: message, id: message.messageId ?? "console_\(UUID().uuidString)", sentAt: Date())
        recorded.withLock { records in
            records.append(record)
            if records.count > capacity { records.removeFirst(records.count - capacity) }
        }
        logger.info(
            "NOT SENT TO WHATSAPP (console gateway)",
            metadata: ["session": "\(message.session)", "chat": "\(message.chatId)", "text": "\(message.text)"])
        return SendReceipt(messageId: GatewayMessageId(full: record.id, raw: record.id))
    }

    public func recentMessagesFromMe(session: String, chatId: String, since: Date) async throws -> [GatewayMessage] {
        recorded.withLock { records in
            records.reversed()
                .filter { $0.message.session == session && $0.message.chatId == chatId && $0.sentAt >= since }
                .map { GatewayMessage(id: GatewayMessageId(full: $0.id, raw: $0.id), body: $0.message.text, timestamp: $0.sentAt) }
        }
    }

    /// Every name is free: the console gateway has no sessions of its own to protect.
    public func session(named name: String) async throws -> GatewaySession? { nil }
    public func createSession(named name: String, setup: SessionSetup) async throws -> SessionStatus { .working }
    public func startSession(_ name: String) async throws -> SessionStatus { .working }
    public func status(ofSession name: String) async throws -> SessionStatus { .working }
    public func restartSession(_ name: String) async throws -> SessionStatus { .working }
    public func logoutSession(_ name: String) async throws -> SessionStatus { .working }
    public func groups(session: String) async throws -> [ChatSummary] { [] }
    public func contacts(session: String) async throws -> [ChatSummary] { [] }
    public func checkHealth() async throws {}
    public func reserveMessageId(session: String) async throws -> String? { "console_\(UUID().uuidString)" }
    public func configureSession(_ name: String, setup: SessionSetup) async throws -> SessionStatus { .working }

    public func sentMessage(session: String, chatId: String, rawId: String) async throws -> GatewayMessage? {
        recorded.withLock { records in
            records.last { $0.message.session == session && $0.message.chatId == chatId && $0.id == rawId }
                .map { GatewayMessage(id: GatewayMessageId(full: $0.id, raw: $0.id), body: $0.message.text, timestamp: $0.sentAt) }
        }
    }

    public func qrCode(session: String) async throws -> Data {
        throw GatewayFailure.unsupported(reason: "The console gateway has no QR code: its sessions are always connected")
    }
}
