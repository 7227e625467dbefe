import CrierCore
import Foundation

/// What the gateway reports about messages: delivery and read receipts, and which webhook events
/// were seen already (WAHA retries a webhook until it is answered).
public protocol ReceiptStore: Sendable {
    /// Records a webhook event id, remembered for `retention`; `false` when it was seen before.
    func recordWebhookEvent(id: String, now: Date, retention: TimeInterval) async throws -> Bool
    /// Applies a delivery or read receipt to the message sent through session `session` with this raw
    /// gateway id. A receipt dated more than a minute before the send is ignored. A receipt for an id
    /// not recorded yet (it beat the send's reply) is kept and applied when the send is recorded.
    /// Receipts only move a message forward. Returns whether a message matched now.
    @discardableResult
    func recordAck(session: String, rawMessageId: String, level: AckLevel, at: Date) async throws -> Bool
}
