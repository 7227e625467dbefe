import CrierCore
import CrierStorage
import Foundation
import PostgresNIO

/// Receipts and webhook events (`ReceiptStore`).
extension PostgresStore {
    /// Moves one sent message forward, as the SQLite store does; returns whether it matched.
    func applyReceipt(
        level: AckLevel, at: Date, messageId: Int64? = nil, rawId: String? = nil, session: String? = nil,
        _ connection: PostgresConnection
    ) async throws -> Bool {
        guard level >= .device else { return false }
        let skew = Int64(StoreRules.receiptClockSkew * 1000)
        let updated = try await connection.rows(
            """
            UPDATE messages SET delivered_at = COALESCE(delivered_at, GREATEST(\(at.millis), sent_at)),
                read_at = CASE WHEN \(level >= .read)
                    THEN COALESCE(read_at, GREATEST(\(at.millis), sent_at, delivered_at)) ELSE read_at END
            WHERE status = 'sent' AND sent_at - \(skew) <= \(at.millis)
                AND (\(messageId)::bigint IS NULL OR id = \(messageId))
                AND (\(rawId)::text IS NULL OR (gateway_raw_id = \(rawId) AND campaign_id IN
                    (SELECT c.id FROM campaigns c JOIN whatsapp_sessions s ON s.id = c.session_id WHERE s.name = \(session))))
            RETURNING id
            """, logger: logger)
        return !updated.isEmpty
    }

    public func recordWebhookEvent(id: String, now: Date, retention: TimeInterval) async throws -> Bool {
        try await transaction { [self] connection in
            try await connection.query(
                "DELETE FROM webhook_events WHERE received_at < \(now.addingTimeInterval(-retention).millis)", logger: logger)
            let inserted = try await connection.rows(
                """
                INSERT INTO webhook_events (event_id, received_at) VALUES (\(id), \(now.millis))
                ON CONFLICT (event_id) DO NOTHING RETURNING event_id
                """, logger: logger)
            return inserted.count == 1
        }
    }

    @discardableResult
    public func recordAck(session: String, rawMessageId: String, level: AckLevel, at: Date) async throws -> Bool {
        guard level >= .device else { return false }
        let applied = try await applyAck(session: session, rawMessageId: rawMessageId, level: level, at: at)
        if applied, let owner = try await sessionOwner(name: session) { await changes.announce(.activity(ownerId: owner)) }
        return applied
    }

    private func applyAck(session: String, rawMessageId: String, level: AckLevel, at: Date) async throws -> Bool {
        try await transaction { [self] connection in
            let known = try await connection.rows(
                """
                SELECT 1 FROM messages m JOIN campaigns c ON c.id = m.campaign_id
                JOIN whatsapp_sessions s ON s.id = c.session_id
                WHERE m.gateway_raw_id = \(rawMessageId) AND s.name = \(session) LIMIT 1
                """, logger: logger)
            guard !known.isEmpty else {
                // Not recorded yet (the receipt beat the send's reply): kept for when it is.
                try await connection.query(
                    "DELETE FROM early_receipts WHERE received_at < \(at.addingTimeInterval(-StoreRules.earlyReceiptRetention).millis)",
                    logger: logger)
                try await connection.query(
                    """
                    INSERT INTO early_receipts (session, raw_message_id, level, at, received_at)
                    VALUES (\(session), \(rawMessageId), \(Int64(level.rawValue)), \(at.millis), \(at.millis))
                    """, logger: logger)
                return false
            }
            return try await applyReceipt(level: level, at: at, rawId: rawMessageId, session: session, connection)
        }
    }
}
