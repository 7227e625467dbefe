import CrierCore
import Foundation
import GRDB

/// Receipts and webhook events (`ReceiptStore`).
extension SQLiteStore {
    /// Receipts that arrived before this send was recorded, applied now (and forgotten).
    static func applyEarlyReceipts(messageId: Int64, session: String, rawId: String, db: Database) throws {
        let receipts = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT level, at FROM early_receipts WHERE session = ? AND raw_message_id = ?"),
            arguments: [session, rawId])
        guard !receipts.isEmpty else { return }
        for receipt in receipts {
            guard let level = AckLevel(rawValue: receipt["level"]) else { continue }
            try applyReceipt(level: level, at: Date(millis: receipt["at"]), where: "id = ?", [messageId], db: db)
        }
        try db.execute(
            sql: "DELETE FROM early_receipts WHERE session = ? AND raw_message_id = ?", arguments: [session, rawId])
    }

    /// Moves matching sent messages forward: DEVICE sets deliveredAt, READ or PLAYED readAt (and
    /// deliveredAt, if no earlier receipt did); the first time of each is kept. No time is ever put
    /// before the one it follows: deliveredAt is never before sentAt, readAt never before either.
    static func applyReceipt(
        level: AckLevel, at: Date, where condition: String, _ arguments: StatementArguments, db: Database
    ) throws {
        guard level >= .device else { return }
        // `condition` is one of a few fixed strings (by id, by raw id and session): cached per string.
        // The right-hand sides see the row as it was, so `delivered_at` there is the earlier receipt's.
        try db.cachedStatement(
            sql: """
                UPDATE messages SET delivered_at = COALESCE(delivered_at, MAX(?1, sent_at)),
                    read_at = CASE WHEN ?2 THEN COALESCE(read_at, MAX(?1, sent_at, COALESCE(delivered_at, ?1))) ELSE read_at END
                WHERE status = \(MessageStatus.sent.sql) AND sent_at - ?3 <= ?1 AND \(condition)
                """
        ).execute(arguments: [at.millis, level >= .read, Int64(StoreRules.receiptClockSkew * 1000)] + arguments)
    }

    public func recordWebhookEvent(id: String, now: Date, retention: TimeInterval) async throws -> Bool {
        try await transaction { db in
            try db.cachedStatement(sql: "DELETE FROM webhook_events WHERE received_at < ?")
                .execute(arguments: [now.addingTimeInterval(-retention).millis])
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO webhook_events (event_id, received_at) VALUES (?, ?)")
                .execute(arguments: [id, now.millis])
            return db.changesCount == 1
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
        try await transaction { db in
            let sessionCampaigns = """
                campaign_id IN (SELECT c.id FROM campaigns c JOIN whatsapp_sessions s ON s.id = c.session_id
                                WHERE s.name = ?)
                """
            let known = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM messages WHERE gateway_raw_id = ? AND \(sessionCampaigns))"),
                arguments: [rawMessageId, session]) ?? false
            guard known else {
                // Not recorded yet (the receipt beat the send's reply): kept for when it is.
                try db.execute(
                    sql: "DELETE FROM early_receipts WHERE received_at < ?",
                    arguments: [at.addingTimeInterval(-StoreRules.earlyReceiptRetention).millis])
                try db.execute(
                    sql: "INSERT INTO early_receipts (session, raw_message_id, level, at, received_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [session, rawMessageId, level.rawValue, at.millis, at.millis])
                return false
            }
            try Self.applyReceipt(
                level: level, at: at, where: "gateway_raw_id = ? AND \(sessionCampaigns)", [rawMessageId, session], db: db)
            return db.changesCount > 0
        }
    }
}
