import CrierCore
import Foundation

/// The status of a WhatsApp session at the gateway, as WAHA names it. Only `WORKING` can send.
public enum SessionStatus: String, Sendable, Codable, CaseIterable {
    case stopped = "STOPPED"
    case starting = "STARTING"
    case scanQRCode = "SCAN_QR_CODE"
    case passkeyRequired = "PASSKEY_REQUIRED"
    case passkeyConfirmationRequired = "PASSKEY_CONFIRMATION_REQUIRED"
    case working = "WORKING"
    case failed = "FAILED"

    /// The status in words for an organiser (the dashboard never shows `SCAN_QR_CODE`).
    public var words: String {
        switch self {
        case .stopped: "stopped"
        case .starting: "starting"
        case .scanQRCode: "waiting for its QR code to be scanned"
        case .passkeyRequired, .passkeyConfirmationRequired: "waiting for a passkey on the phone"
        case .working: "connected"
        case .failed: "failed at the gateway"
        }
    }
}

/// One text message to send.
public struct OutgoingText: Hashable, Sendable {
    public let session: String
    public let chatId: String
    public let text: String
    /// A raw message id reserved at the gateway beforehand (`reserveMessageId`), so that whether this
    /// send went out can later be asked by id.
    public let messageId: String?

    public init(session: String, chatId: String, text: String, messageId: String? = nil) {
        self.session = session
        self.chatId = chatId
        self.text = text
        self.messageId = messageId
    }
}

/// What the gateway said when it accepted a message; `messageId` is `nil` when it did not say.
public struct SendReceipt: Hashable, Sendable {
    public let messageId: GatewayMessageId?
    public init(messageId: GatewayMessageId?) { self.messageId = messageId }
}

/// A message the session itself sent, as the gateway reports it (for reconciliation).
public struct GatewayMessage: Hashable, Sendable {
    public let id: GatewayMessageId?
    public let body: String
    public let timestamp: Date

    public init(id: GatewayMessageId?, body: String, timestamp: Date) {
        self.id = id
        self.body = body
        self.timestamp = timestamp
    }
}

/// A group or contact a session can message.
public struct ChatSummary: Hashable, Sendable {
    public let id: String
    public let name: String?

    public init(id: String, name: String?) {
        self.id = id
        self.name = name
    }
}

/// A session as the gateway knows it.
public struct GatewaySession: Hashable, Sendable {
    public let name: String
    public let status: SessionStatus
    /// The owner tag Crier put in the session's metadata when it created it; `nil` for a session
    /// created elsewhere (another tool, WAHA's dashboard, its `default` session).
    public let owner: String?
    /// Whether the gateway will report delivery receipts for it (`nil`: cannot tell).
    public let receiptsEnabled: Bool?
    /// Whether the gateway keeps its message history, which reconciliation needs (`nil`: cannot tell).
    public let historyEnabled: Bool?
    /// The linked phone's number, digits only, and its WhatsApp display name (`me`), once paired.
    public let phoneNumber: String?
    public let pushName: String?

    public init(
        name: String, status: SessionStatus, owner: String?, receiptsEnabled: Bool? = nil, historyEnabled: Bool? = nil,
        phoneNumber: String? = nil, pushName: String? = nil
    ) {
        self.name = name
        self.status = status
        self.owner = owner
        self.receiptsEnabled = receiptsEnabled
        self.historyEnabled = historyEnabled
        self.phoneNumber = phoneNumber
        self.pushName = pushName
    }
}

/// What Crier sets on a session it creates: the owner tag, and where receipts should go.
public struct SessionSetup: Hashable, Sendable {
    /// The Crier user's public id, kept in the session's metadata as proof of who created it.
    public let owner: String
    /// Crier's webhook URL and HMAC key, when Crier knows its public URL and has a secret.
    public let webhook: Webhook?

    public struct Webhook: Hashable, Sendable {
        public let url: String
        public let hmacKey: String
        public init(url: String, hmacKey: String) {
            self.url = url
            self.hmacKey = hmacKey
        }
    }

    public init(owner: String, webhook: Webhook? = nil) {
        self.owner = owner
        self.webhook = webhook
    }
}

/// Why a gateway request failed, classified so the dispatcher decides from the type, not from text.
public enum GatewayFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// The request certainly did not reach the gateway (connection refused, DNS, 429): safe to retry.
    case notDelivered(reason: String)
    /// The session exists but is not WORKING (WAHA's 422): wait for it without burning an attempt.
    case sessionNotReady(status: SessionStatus?, reason: String)
    /// Refused for good (bad chat id, unknown session, 401/403). `credentialsRefused` marks 401/403,
    /// which make the whole gateway unhealthy.
    case rejected(httpStatus: Int, reason: String, credentialsRefused: Bool)
    /// The message may have gone out (timeout after sending, connection reset, 5xx): reconcile first.
    case ambiguous(reason: String)
    /// The gateway keeps no message history for the session, so it cannot say what went out.
    case historyUnavailable(reason: String)
    /// The gateway cannot do this at all (the console gateway has no QR code).
    case unsupported(reason: String)

    public var reason: String {
        switch self {
        case .notDelivered(let reason), .sessionNotReady(_, let reason), .rejected(_, let reason, _),
            .ambiguous(let reason), .unsupported(let reason), .historyUnavailable(let reason):
            reason
        }
    }

    public var description: String { reason }
}

/// A WhatsApp gateway: the thing that owns phone-number sessions and sends for them. Methods throw
/// `GatewayFailure`; anything else thrown is a bug in the gateway and treated as ambiguous.
public protocol Gateway: Sendable {
    /// Short name for logs and health output (`console`, `waha`).
    var kind: String { get }
    /// Sends a text message.
    func sendText(_ message: OutgoingText) async throws -> SendReceipt
    /// Messages the session sent to `chatId` since `since`, newest first.
    func recentMessagesFromMe(session: String, chatId: String, since: Date) async throws -> [GatewayMessage]
    /// Reserves a message id for the next send through `session`; `nil` when the gateway's engine
    /// cannot take a client-chosen id (then only the text can tell whether a send went out).
    func reserveMessageId(session: String) async throws -> String?
    /// The message the session sent to `chatId` with this raw id, or `nil` when there is none.
    func sentMessage(session: String, chatId: String, rawId: String) async throws -> GatewayMessage?
    /// Applies Crier's session configuration (`SessionSetup`) to a session that exists, keeping the rest
    /// of its configuration; returns its status.
    func configureSession(_ name: String, setup: SessionSetup) async throws -> SessionStatus
    /// The session, or `nil` when the gateway has none by this name.
    func session(named name: String) async throws -> GatewaySession?
    /// Creates and starts a session configured as `setup` says; returns its status.
    func createSession(named name: String, setup: SessionSetup) async throws -> SessionStatus
    /// Starts a stopped session; returns its status.
    func startSession(_ name: String) async throws -> SessionStatus
    /// The session's live status.
    func status(ofSession name: String) async throws -> SessionStatus
    /// The QR code to pair a phone with the session, as PNG.
    func qrCode(session: String) async throws -> Data
    func restartSession(_ name: String) async throws -> SessionStatus
    /// Unpairs the phone; the session stays registered.
    func logoutSession(_ name: String) async throws -> SessionStatus
    func groups(session: String) async throws -> [ChatSummary]
    func contacts(session: String) async throws -> [ChatSummary]
    /// Whether the gateway itself answers and accepts our credentials (readiness).
    func checkHealth() async throws
}
