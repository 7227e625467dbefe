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

    /// Every outcome of the batch in one statement, one round trip: the fenced updates, their audit
    /// lines, and (for sends) the receipts that arrived before them, taken off the waiting list. The
    /// batch travels as one JSON array read by `jsonb_to_recordset` (absent values are NULL, which
    /// arrays of optionals cannot carry). Applying such a receipt (rare) is a further statement in
    /// the same transaction.
    public func recordOutcomes(_ records: [OutcomeRecord]) async throws -> [Bool] {
        guard !records.isEmpty else { return [] }
        let batch = String(decoding: try JSONEncoder().encode(records.map(OutcomeRow.init)), as: UTF8.self)
        return try await transaction { connection in
            let rows = try await connection.rows(
                """
                WITH input AS (
                    SELECT * FROM jsonb_to_recordset(\(batch)::jsonb) AS i(
                        id bigint, claim_token bigint, status text, is_sent boolean, sent_at bigint, gateway_full text,
                        gateway_raw text, needs_reconcile boolean, failed_reason text, next_attempt_at bigint,
                        send_started_at bigint, last_error text, attempted bigint, started_at bigint, finished_at bigint,
                        outcome text, gateway_status bigint, reason text, session text)
                ), updated AS (
                    UPDATE messages m SET status = i.status,
                        sent_at = CASE WHEN i.is_sent THEN i.sent_at ELSE m.sent_at END,
                        gateway_message_id = CASE WHEN i.is_sent THEN i.gateway_full ELSE m.gateway_message_id END,
                        gateway_raw_id = CASE WHEN i.is_sent THEN i.gateway_raw ELSE m.gateway_raw_id END,
                        needs_reconcile = COALESCE(i.needs_reconcile, m.needs_reconcile),
                        failed_reason = CASE WHEN i.is_sent THEN NULL ELSE COALESCE(i.failed_reason, m.failed_reason) END,
                        next_attempt_at = COALESCE(i.next_attempt_at, m.next_attempt_at),
                        send_started_at = COALESCE(i.send_started_at, m.send_started_at),
                        last_error = COALESCE(i.last_error, m.last_error),
                        lease_owner = NULL, lease_expires_at = NULL, attempt_count = m.attempt_count + i.attempted
                    FROM input i
                    WHERE m.id = i.id AND m.claim_token = i.claim_token AND m.status = 'sending'
                    RETURNING m.id
                ), attempt AS (
                    INSERT INTO message_attempts (message_id, started_at, finished_at, outcome, gateway_status, reason)
                    SELECT i.id, i.started_at, i.finished_at, i.outcome, i.gateway_status, i.reason
                    FROM input i JOIN updated u ON u.id = i.id
                    RETURNING message_id
                ), receipts AS (
                    DELETE FROM early_receipts e USING input i, updated u
                    WHERE u.id = i.id AND i.is_sent AND e.session = i.session AND e.raw_message_id = i.gateway_raw
                    RETURNING i.id AS message_id, e.level, e.at
                )
                SELECT 'updated' AS kind, message_id AS id, NULL::bigint AS level, NULL::bigint AS at FROM attempt
                UNION ALL SELECT 'receipt', message_id, level, at FROM receipts
                """, logger: logger)
            var applied = Set<Int64>()
            for row in rows {
                let id = try row["id"].decode(Int64.self)
                guard try row["kind"].decode(String.self) == "receipt" else {
                    applied.insert(id)
                    continue
                }
                guard let level = AckLevel(rawValue: try row["level"].decode(Int.self)) else { continue }
                _ = try await applyReceipt(
                    level: level, at: Date(millis: try row["at"].decode(Int64.self)), messageId: id, connection)
            }
            return records.map { applied.contains($0.claim.id) }
        }
    }

    /// Every reservation in one statement: the ids, claims and tokens as parallel arrays.
    public func recordReservedMessageIds(_ reservations: [MessageIdReservation]) async throws -> [Bool] {
        guard !reservations.isEmpty else { return [] }
        let updated = try await rows(
            """
            UPDATE messages m SET reserved_message_id = r.message_id
            FROM unnest(\(reservations.map(\.claim.id))::bigint[], \(reservations.map(\.claim.claimToken))::bigint[],
                        \(reservations.map(\.messageId))::text[]) AS r(id, claim_token, message_id)
            WHERE m.id = r.id AND m.claim_token = r.claim_token AND m.status = 'sending' RETURNING m.id
            """)
        let ids = Set(try updated.map { try $0["id"].decode(Int64.self) })
        return reservations.map { ids.contains($0.claim.id) }
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

/// How an outcome changes a message row, as the values of one uniform update (`nil`: unchanged).
/// One outcome as a row of the batch `recordOutcomes` sends (keys are the SQL column names).
struct OutcomeRow: Encodable {
    let id: Int64
    let claim_token: Int64
    let status: String
    let is_sent: Bool
    let sent_at: Int64?
    let gateway_full: String?
    let gateway_raw: String?
    let needs_reconcile: Bool?
    let failed_reason: String?
    let next_attempt_at: Int64?
    let send_started_at: Int64?
    let last_error: String?
    let attempted: Int64
    let started_at: Int64
    let finished_at: Int64
    let outcome: String
    let gateway_status: Int64?
    let reason: String?
    let session: String

    init(_ record: OutcomeRecord) {
        let change = OutcomeChange(record.outcome, finishedAt: record.log.finishedAt)
        id = record.claim.id
        claim_token = record.claim.claimToken
        status = change.status.rawValue
        is_sent = change.isSent
        sent_at = change.sentAt
        gateway_full = change.gatewayId?.full
        gateway_raw = change.gatewayId?.raw
        needs_reconcile = change.needsReconcile
        failed_reason = change.failedReason
        next_attempt_at = change.nextAttemptAt
        send_started_at = change.sendStartedAt
        last_error = change.lastError
        attempted = record.log.attempted ? 1 : 0
        started_at = record.log.startedAt.millis
        finished_at = record.log.finishedAt.millis
        outcome = record.log.outcome.rawValue
        gateway_status = record.log.gatewayStatus.map(Int64.init)
        reason = record.log.reason
        session = record.claim.sessionName
    }
}

struct OutcomeChange {
    var status: MessageStatus
    var isSent = false
    var sentAt: Int64?
    var gatewayId: GatewayMessageId?
    var needsReconcile: Bool?
    var failedReason: String?
    var nextAttemptAt: Int64?
    var sendStartedAt: Int64?
    var lastError: String?

    init(_ outcome: SendOutcome, finishedAt: Date) {
        switch outcome {
        case .sent(let gatewayId):
            status = .sent
            isSent = true
            sentAt = finishedAt.millis
            self.gatewayId = gatewayId
            needsReconcile = false
        case .retry(let at, let reason, let needsReconcile, let sendStartedAt):
            status = .pending
            nextAttemptAt = at.millis
            self.needsReconcile = needsReconcile
            self.sendStartedAt = sendStartedAt?.millis
            lastError = reason
        case .wait(let until, let reason):
            status = .pending
            nextAttemptAt = until.millis
            lastError = reason
        case .failed(let reason):
            status = .failed
            failedReason = reason
            needsReconcile = false
        case .missed(let reason):
            status = .missed
            failedReason = reason
            needsReconcile = false
        }
    }
}
