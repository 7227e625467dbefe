import CrierCore
import CrierGateway
import CrierStorage
import Foundation

/// Applies what the gateway reports (typed webhook events) to the store: receipts to the message sent
/// through that session with that id, session statuses to the session. Events are de-duplicated by
/// id and must be fresh: WAHA's retries end long before a day has passed.
public struct GatewayEventService: Sendable {
    /// Events older than this are refused: WAHA's retries end long before (15 × 2 s by default).
    public static let freshness: TimeInterval = 24 * 3600
    /// How far ahead of our clock an event may be dated (the gateway's clock is not ours).
    public static let futureTolerance: TimeInterval = 5 * 60
    /// Event ids are remembered well beyond the freshness window, so no accepted retry counts twice.
    public static let eventIdRetention: TimeInterval = 7 * 24 * 3600

    /// What became of an event.
    public enum Outcome: Sendable, Equatable {
        case applied
        case duplicate
        /// Dated outside the accepted window (too old to be a retry, or ahead of our clock).
        case stale(Date)
    }

    let store: any ReceiptStore & SessionStatusStore
    let clock: any WallClock
    /// Called when a session reports WORKING, so waiting messages go out at once.
    let sessionRecovered: @Sendable () async -> Void

    public init(store: any ReceiptStore & SessionStatusStore, clock: any WallClock, sessionRecovered: @escaping @Sendable () async -> Void) {
        self.store = store
        self.clock = clock
        self.sessionRecovered = sessionRecovered
    }

    public func apply(_ event: WAHAWebhookEvent) async throws -> Outcome {
        let now = clock.now()
        let at = event.timestamp
        guard at >= now.addingTimeInterval(-Self.freshness), at <= now.addingTimeInterval(Self.futureTolerance) else {
            return .stale(at)
        }
        guard try await store.recordWebhookEvent(id: event.id, now: now, retention: Self.eventIdRetention) else {
            return .duplicate
        }
        switch event.kind {
        case .ack(let session, let messageId, let level):
            try await store.recordAck(session: session, rawMessageId: messageId.raw, level: level, at: at)
        case .sessionStatus(let session, let status):
            try await store.recordSessionStatus(name: session, status: status)
            if status == SessionStatus.working.rawValue { await sessionRecovered() }
        case .ignored:
            break
        }
        return .applied
    }
}
