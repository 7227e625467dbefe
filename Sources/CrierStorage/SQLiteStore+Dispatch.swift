import CrierCore
import Foundation
import GRDB

extension SQLiteStore {
    public func claimDueMessages(now: Date, limit: Int, owner: String, leaseUntil: Date) async throws -> [ClaimedMessage] {
        try await transaction { db in
            try Self.stageUpcoming(now: now, db: db)
            // Cached statements: with messages due one at a time (a steady trickle), every claim was
            // two compilations.
            let claimed = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        UPDATE messages SET status = \(MessageStatus.sending.sql), claim_token = claim_token + 1, lease_owner = ?,
                            lease_expires_at = ?, claimed_at = ?
                        WHERE id IN (SELECT id FROM messages WHERE status = \(MessageStatus.pending.sql) AND staged = 1
                                     AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?)
                        RETURNING id, campaign_id, claim_token, attempt_count, content, scheduled_at, needs_reconcile,
                            send_started_at, last_error, reserved_message_id
                        """),
                arguments: [owner, leaseUntil.millis, now.millis, now.millis, limit])
            guard !claimed.isEmpty else { return [] }
            let campaignIds = Set(claimed.map { $0[1] as Int64 })
            var targets: [Int64: (publicId: String, session: String, chat: String, owner: Int64, status: String?)] = [:]
            for row in try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT c.id, c.public_id, c.group_id, s.name, c.owner_id, s.gateway_status FROM campaigns c
                        JOIN whatsapp_sessions s ON s.id = c.session_id WHERE c.id IN (SELECT value FROM json_each(?))
                        """),
                arguments: [Self.jsonArray(campaignIds)])
            {
                targets[row[0]] = (row[1], row[3], row[2], row[4], row[5])
            }
            // Columns by position, in RETURNING's order (by name, each access compares names).
            return claimed.compactMap { row -> ClaimedMessage? in
                guard let target = targets[row[1]] else { return nil }
                return ClaimedMessage(
                    id: row[0], claimToken: row[2], attemptCount: row[3],
                    campaignId: target.publicId, sessionName: target.session, chatId: target.chat,
                    content: row[4], scheduledAt: Date(millis: row[5]), needsReconcile: row[6],
                    sendStartedAt: (row[7] as Int64?).map(Date.init(millis:)), lastError: row[8],
                    reservedMessageId: row[9], ownerId: target.owner, storedSessionStatus: target.status)
            }.sorted { ($0.scheduledAt, $0.id) < ($1.scheduledAt, $1.id) }
        }
    }

    /// Row ids as a JSON array, for `IN (SELECT value FROM json_each(?))`: one statement, cached once,
    /// for any number of ids.
    static func jsonArray(_ ids: some Sequence<Int64>) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    public func renewClaims(owner: String, until: Date, except: [Int64]) async throws {
        let excluded = Self.jsonArray(except)
        try await transaction { db in
            try db.execute(
                sql: """
                    UPDATE messages SET lease_expires_at = ? WHERE status = \(MessageStatus.sending.sql) AND lease_owner = ?
                    AND id NOT IN (SELECT value FROM json_each(?))
                    """,
                arguments: [until.millis, owner, excluded])
        }
    }

    public func recordOutcomes(_ records: [OutcomeRecord]) async throws -> [Bool] {
        guard !records.isEmpty else { return [] }
        return try await transaction { db in
            // Receipts rarely beat their send's record: when none wait, no send looks for its own.
            let receiptsWaiting = try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM early_receipts)")) ?? true
            let recorded = try records.map { try Self.recordOutcome($0, receiptsWaiting: receiptsWaiting, db: db) }
            let logged = zip(records, recorded).filter(\.1).map(\.0)
            try Self.attemptRows.insert(count: logged.count, db: db) { index, values in
                let (messageId, log) = (logged[index].claim.id, logged[index].log)
                values += [messageId, log.startedAt.millis, log.finishedAt.millis, log.outcome, log.gatewayStatus, log.reason]
            }
            return recorded
        }
    }

    private static let attemptRows = MultiRowInsert(
        table: "message_attempts", columns: ["message_id", "started_at", "finished_at", "outcome", "gateway_status", "reason"])

    /// One outcome's fenced update inside a transaction, and the early receipts it meets; whether the
    /// claim still held (the caller then logs the attempt).
    private static func recordOutcome(_ record: OutcomeRecord, receiptsWaiting: Bool, db: Database) throws -> Bool {
        let (claim, log) = (record.claim, record.log)
        let attempted = log.attempted ? 1 : 0
        switch record.outcome {
        case .sent(let gatewayId):
            try db.cachedStatement(sql: OutcomeSQL.sent).execute(
                arguments: [log.finishedAt.millis, gatewayId?.full, gatewayId?.raw, attempted, claim.id, claim.claimToken])
        case .retry(let at, let reason, let needsReconcile, let sendStartedAt):
            try db.cachedStatement(sql: OutcomeSQL.retry).execute(
                arguments: [at.millis, needsReconcile, sendStartedAt?.millis, reason, attempted, claim.id, claim.claimToken])
        case .wait(let until, let reason):
            try db.cachedStatement(sql: OutcomeSQL.wait).execute(
                arguments: [until.millis, reason, attempted, claim.id, claim.claimToken])
        case .failed(let reason), .missed(let reason):
            let status: MessageStatus = if case .failed = record.outcome { .failed } else { .missed }
            try db.cachedStatement(sql: OutcomeSQL.ended).execute(
                arguments: [status, reason, attempted, claim.id, claim.claimToken])
        }
        guard db.changesCount == 1 else { return false }
        if receiptsWaiting, case .sent(let gatewayId?) = record.outcome {
            try applyEarlyReceipts(messageId: claim.id, session: claim.sessionName, rawId: gatewayId.raw, db: db)
        }
        return true
    }

    public func recordReservedMessageIds(_ reservations: [MessageIdReservation]) async throws -> [Bool] {
        guard !reservations.isEmpty else { return [] }
        return try await transaction { db in
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE messages SET reserved_message_id = ?
                    WHERE id = ? AND claim_token = ? AND status = \(MessageStatus.sending.sql)
                    """)
            return try reservations.map { reservation in
                try statement.execute(arguments: [reservation.messageId, reservation.claim.id, reservation.claim.claimToken])
                return db.changesCount == 1
            }
        }
    }

    public func releaseClaims(_ claims: [ClaimedMessage], owner: String) async throws {
        guard !claims.isEmpty else { return }
        try await transaction { db in
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE messages SET status = \(MessageStatus.pending.sql), lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND claim_token = ? AND status = \(MessageStatus.sending.sql) AND lease_owner = ?
                    """)
            for claim in claims { try statement.execute(arguments: [claim.id, claim.claimToken, owner]) }
        }
    }

    public func recoverExpiredClaims(now: Date, reconcileAfter delay: TimeInterval) async throws -> Int {
        try await transaction { db in
            let reason = StoreRules.recoveredReason
            try db.execute(
                sql: """
                    INSERT INTO message_attempts (message_id, started_at, finished_at, outcome, reason)
                    SELECT id, COALESCE(claimed_at, ?), ?, \(AttemptOutcome.leaseExpired.sql), ? FROM messages
                    WHERE status = \(MessageStatus.sending.sql) AND lease_expires_at < ?
                    """,
                arguments: [now.millis, now.millis, reason, now.millis])
            try db.execute(
                sql: """
                    UPDATE messages SET status = \(MessageStatus.pending.sql), needs_reconcile = 1,
                        send_started_at = COALESCE(send_started_at, claimed_at), lease_owner = NULL,
                        lease_expires_at = NULL, next_attempt_at = MAX(?, COALESCE(claimed_at, ?) + ?),
                        attempt_count = attempt_count + 1, last_error = ?
                    WHERE status = \(MessageStatus.sending.sql) AND lease_expires_at < ?
                    """,
                arguments: [now.millis, now.millis, Int64(delay * 1000), reason, now.millis])
            return db.changesCount
        }
    }

    public func markMissed(scheduledBefore cutoff: Date, reason: String, now: Date) async throws -> Int {
        try await transaction { db in
            try Self.stageUpcoming(now: now, db: db)
            let overdue = """
                status = \(MessageStatus.pending.sql) AND staged = 1 AND next_attempt_at <= ? AND needs_reconcile = 0
                AND scheduled_at < ?
                """
            let fullReason = "? || COALESCE(last_error, '\(StoreRules.notRunningReason)')"
            try db.execute(
                sql: """
                    INSERT INTO message_attempts (message_id, started_at, finished_at, outcome, reason)
                    SELECT id, ?, ?, \(AttemptOutcome.missed.sql), \(fullReason) FROM messages WHERE \(overdue)
                    """,
                arguments: [now.millis, now.millis, reason, now.millis, cutoff.millis])
            try db.execute(
                sql: "UPDATE messages SET status = \(MessageStatus.missed.sql), failed_reason = \(fullReason) WHERE \(overdue)",
                arguments: [reason, now.millis, cutoff.millis])
            return db.changesCount
        }
    }

    public func nextDueAt() async throws -> Date? {
        try pointRead { db in try Self.nextDue(db: db).map(Date.init(millis:)) }  // two indexes' first entries
    }

}

/// The outcome updates, fenced by the claim: each applies only while the message is still `sending`
/// under the claim that sent it.
private enum OutcomeSQL {
    private static let fence = "WHERE id = ? AND claim_token = ? AND status = \(MessageStatus.sending.sql)"
    private static let released = "lease_owner = NULL, lease_expires_at = NULL, attempt_count = attempt_count + ?"
    static let sent = """
        UPDATE messages SET status = \(MessageStatus.sent.sql), sent_at = ?, gateway_message_id = ?, gateway_raw_id = ?,
            needs_reconcile = 0, failed_reason = NULL, \(released) \(fence)
        """
    static let retry = """
        UPDATE messages SET status = \(MessageStatus.pending.sql), next_attempt_at = ?, needs_reconcile = ?,
            send_started_at = COALESCE(?, send_started_at), last_error = ?, \(released) \(fence)
        """
    static let wait = "UPDATE messages SET status = \(MessageStatus.pending.sql), next_attempt_at = ?, last_error = ?, \(released) \(fence)"
    static let ended = "UPDATE messages SET status = ?, failed_reason = ?, needs_reconcile = 0, \(released) \(fence)"
}
