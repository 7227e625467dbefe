import CrierCore
import CrierStorage
import Foundation
import PostgresNIO

extension PostgresStore {
    /// One statement: the due rows are locked with `SKIP LOCKED` (another instance's claim in
    /// progress is passed over, never waited for or taken twice), leased, and their fencing token
    /// bumped, returning what the dispatcher needs to send.
    public func claimDueMessages(now: Date, limit: Int, owner: String, leaseUntil: Date) async throws -> [ClaimedMessage] {
        let rows = try await rows(
            """
            WITH due AS (
                SELECT id FROM messages WHERE status = 'pending' AND next_attempt_at <= \(now.millis)
                ORDER BY next_attempt_at LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED
            )
            UPDATE messages m SET status = 'sending', claim_token = m.claim_token + 1, lease_owner = \(owner),
                lease_expires_at = \(leaseUntil.millis), claimed_at = \(now.millis)
            FROM due, campaigns c, whatsapp_sessions s
            WHERE m.id = due.id AND c.id = m.campaign_id AND s.id = c.session_id
            RETURNING m.id, m.claim_token, m.attempt_count, c.public_id AS campaign_public_id, s.name AS session_name,
                c.group_id, m.content, m.scheduled_at, m.needs_reconcile, m.send_started_at, m.last_error,
                m.reserved_message_id
            """)
        return try rows.map { row in
            ClaimedMessage(
                id: try row["id"].decode(Int64.self), claimToken: try row["claim_token"].decode(Int64.self),
                attemptCount: try row["attempt_count"].decode(Int.self),
                campaignId: try row["campaign_public_id"].decode(String.self),
                sessionName: try row["session_name"].decode(String.self), chatId: try row["group_id"].decode(String.self),
                content: try row["content"].decode(String.self),
                scheduledAt: Date(millis: try row["scheduled_at"].decode(Int64.self)),
                needsReconcile: try row["needs_reconcile"].decode(Bool.self),
                sendStartedAt: try row["send_started_at"].decode(Int64?.self).map(Date.init(millis:)),
                lastError: try row["last_error"].decode(String?.self),
                reservedMessageId: try row["reserved_message_id"].decode(String?.self))
        }.sorted { ($0.scheduledAt, $0.id) < ($1.scheduledAt, $1.id) }
    }

    public func renewClaims(owner: String, until: Date) async throws {
        try await client.query(
            "UPDATE messages SET lease_expires_at = \(until.millis) WHERE status = 'sending' AND lease_owner = \(owner)",
            logger: logger)
    }

    @discardableResult
    public func recordOutcome(_ claim: ClaimedMessage, _ outcome: SendOutcome, log: AttemptLog) async throws -> Bool {
        try await transaction { connection in
            let attempted: Int64 = log.attempted ? 1 : 0
            let id = claim.id
            let token = claim.claimToken
            let updated: [PostgresRandomAccessRow]
            switch outcome {
            case .sent(let gatewayId):
                updated = try await connection.rows(
                    """
                    UPDATE messages SET status = 'sent', sent_at = \(log.finishedAt.millis), gateway_message_id = \(gatewayId?.full),
                        gateway_raw_id = \(gatewayId?.raw), needs_reconcile = false, failed_reason = NULL, lease_owner = NULL,
                        lease_expires_at = NULL, attempt_count = attempt_count + \(attempted)
                    WHERE id = \(id) AND claim_token = \(token) AND status = 'sending' RETURNING id
                    """, logger: logger)
            case .retry(let at, let reason, let needsReconcile, let sendStartedAt):
                updated = try await connection.rows(
                    """
                    UPDATE messages SET status = 'pending', next_attempt_at = \(at.millis), needs_reconcile = \(needsReconcile),
                        send_started_at = COALESCE(\(sendStartedAt?.millis)::bigint, send_started_at), last_error = \(reason),
                        lease_owner = NULL, lease_expires_at = NULL, attempt_count = attempt_count + \(attempted)
                    WHERE id = \(id) AND claim_token = \(token) AND status = 'sending' RETURNING id
                    """, logger: logger)
            case .wait(let until, let reason):
                updated = try await connection.rows(
                    """
                    UPDATE messages SET status = 'pending', next_attempt_at = \(until.millis), last_error = \(reason),
                        lease_owner = NULL, lease_expires_at = NULL, attempt_count = attempt_count + \(attempted)
                    WHERE id = \(id) AND claim_token = \(token) AND status = 'sending' RETURNING id
                    """, logger: logger)
            case .failed(let reason), .missed(let reason):
                let status: MessageStatus = if case .failed = outcome { .failed } else { .missed }
                updated = try await connection.rows(
                    """
                    UPDATE messages SET status = \(status.rawValue), failed_reason = \(reason), needs_reconcile = false,
                        lease_owner = NULL, lease_expires_at = NULL, attempt_count = attempt_count + \(attempted)
                    WHERE id = \(id) AND claim_token = \(token) AND status = 'sending' RETURNING id
                    """, logger: logger)
            }
            guard updated.count == 1 else { return false }
            try await connection.query(
                """
                INSERT INTO message_attempts (message_id, started_at, finished_at, outcome, gateway_status, reason)
                VALUES (\(id), \(log.startedAt.millis), \(log.finishedAt.millis), \(log.outcome.rawValue),
                    \(log.gatewayStatus.map(Int64.init)), \(log.reason))
                """, logger: logger)
            if case .sent(let gatewayId?) = outcome {
                try await applyEarlyReceipts(messageId: id, session: claim.sessionName, rawId: gatewayId.raw, connection)
            }
            return true
        }
    }

    public func recordReservedMessageId(_ claim: ClaimedMessage, _ messageId: String) async throws -> Bool {
        let updated = try await rows(
            """
            UPDATE messages SET reserved_message_id = \(messageId)
            WHERE id = \(claim.id) AND claim_token = \(claim.claimToken) AND status = 'sending' RETURNING id
            """)
        return updated.count == 1
    }

    /// Receipts that arrived before this send was recorded, applied now (and forgotten).
    private func applyEarlyReceipts(messageId: Int64, session: String, rawId: String, _ connection: PostgresConnection)
        async throws
    {
        let receipts = try await connection.rows(
            "DELETE FROM early_receipts WHERE session = \(session) AND raw_message_id = \(rawId) RETURNING level, at",
            logger: logger)
        for receipt in receipts {
            guard let level = AckLevel(rawValue: try receipt["level"].decode(Int.self)) else { continue }
            _ = try await applyReceipt(
                level: level, at: Date(millis: try receipt["at"].decode(Int64.self)), messageId: messageId, connection)
        }
    }

    /// Moves one sent message forward, as the SQLite store does; returns whether it matched.
    private func applyReceipt(
        level: AckLevel, at: Date, messageId: Int64? = nil, rawId: String? = nil, session: String? = nil,
        _ connection: PostgresConnection
    ) async throws -> Bool {
        guard level >= .device else { return false }
        let skew = Int64(StoreRules.receiptClockSkew * 1000)
        let updated = try await connection.rows(
            """
            UPDATE messages SET delivered_at = COALESCE(delivered_at, \(at.millis)),
                read_at = CASE WHEN \(level >= .read) THEN COALESCE(read_at, \(at.millis)) ELSE read_at END
            WHERE status = 'sent' AND sent_at - \(skew) <= \(at.millis)
                AND (\(messageId)::bigint IS NULL OR id = \(messageId))
                AND (\(rawId)::text IS NULL OR (gateway_raw_id = \(rawId) AND campaign_id IN
                    (SELECT c.id FROM campaigns c JOIN whatsapp_sessions s ON s.id = c.session_id WHERE s.name = \(session))))
            RETURNING id
            """, logger: logger)
        return !updated.isEmpty
    }

    public func releaseClaims(_ claims: [ClaimedMessage], owner: String) async throws {
        guard !claims.isEmpty else { return }
        try await client.query(
            """
            UPDATE messages m SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL
            FROM unnest(\(claims.map(\.id))::bigint[], \(claims.map(\.claimToken))::bigint[]) AS released(id, token)
            WHERE m.id = released.id AND m.claim_token = released.token AND m.status = 'sending' AND m.lease_owner = \(owner)
            """, logger: logger)
    }

    /// One statement per step, so two instances recovering at once never both recover a claim.
    public func recoverExpiredClaims(now: Date, reconcileAfter delay: TimeInterval) async throws -> Int {
        let reason = StoreRules.recoveredReason
        let rows = try await rows(
            """
            WITH recovered AS (
                UPDATE messages SET status = 'pending', needs_reconcile = true,
                    send_started_at = COALESCE(send_started_at, claimed_at), lease_owner = NULL, lease_expires_at = NULL,
                    next_attempt_at = GREATEST(\(now.millis), COALESCE(claimed_at, \(now.millis)) + \(Int64(delay * 1000))),
                    attempt_count = attempt_count + 1, last_error = \(reason)
                WHERE status = 'sending' AND lease_expires_at < \(now.millis)
                RETURNING id, claimed_at
            )
            INSERT INTO message_attempts (message_id, started_at, finished_at, outcome, reason)
            SELECT id, COALESCE(claimed_at, \(now.millis)), \(now.millis), \(AttemptOutcome.leaseExpired.rawValue), \(reason)
            FROM recovered RETURNING id
            """)
        return rows.count
    }

    public func markMissed(scheduledBefore cutoff: Date, reason: String, now: Date) async throws -> Int {
        let rows = try await rows(
            """
            WITH missed AS (
                UPDATE messages SET status = 'missed',
                    failed_reason = \(reason) || COALESCE(last_error, \(StoreRules.notRunningReason))
                WHERE status = 'pending' AND needs_reconcile = false AND scheduled_at < \(cutoff.millis)
                RETURNING id, failed_reason
            )
            INSERT INTO message_attempts (message_id, started_at, finished_at, outcome, reason)
            SELECT id, \(now.millis), \(now.millis), \(AttemptOutcome.missed.rawValue), failed_reason FROM missed RETURNING id
            """)
        return rows.count
    }

    public func nextDueAt() async throws -> Date? {
        try await rows("SELECT MIN(next_attempt_at) AS due FROM messages WHERE status = 'pending'").first?["due"]
            .decode(Int64?.self).map(Date.init(millis:))
    }

    public func recordWebhookEvent(id: String, now: Date, retention: TimeInterval) async throws -> Bool {
        try await transaction { connection in
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
        return try await transaction { connection in
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

    public func recordSessionStatus(name: String, status: String, at: Date) async throws {
        try await client.query(
            "UPDATE whatsapp_sessions SET gateway_status = \(status), gateway_status_at = \(at.millis) WHERE name = \(name)",
            logger: logger)
    }
}
