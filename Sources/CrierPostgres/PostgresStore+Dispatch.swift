import CrierCore
import CrierStorage
import Foundation
import PostgresNIO

extension PostgresStore {
    /// One prepared statement (`PreparedStatements.ClaimDue`).
    public func claimDueMessages(now: Date, limit: Int, owner: String, leaseUntil: Date) async throws -> [ClaimedMessage] {
        let statement = PreparedStatements.ClaimDue(
            now: now.millis, limit: Int64(limit), owner: owner, leaseUntil: leaseUntil.millis)
        var claims: [ClaimedMessage] = []
        for claim in try await execute(statement, deadline: false) { claims.append(claim) }
        return claims.sorted { ($0.scheduledAt, $0.id) < ($1.scheduledAt, $1.id) }
    }

    public func renewClaims(owner: String, until: Date, except: [Int64]) async throws {
        try await retryingConflicts {
            _ = try await query(
                """
                WITH locked AS MATERIALIZED (
                    SELECT id FROM messages
                    WHERE status = 'sending' AND lease_owner = \(owner) AND NOT (id = ANY(\(except)::bigint[]))
                    ORDER BY id FOR UPDATE
                )
                UPDATE messages m SET lease_expires_at = \(until.millis) FROM locked WHERE m.id = locked.id
                """,
                logger: logger, deadline: false
            )
        }
    }

    /// Every outcome of the batch in one statement, one round trip: the fenced updates, their audit
    /// lines, and (for sends) the receipts that arrived before them, taken off the waiting list. The
    /// batch travels as one JSON array read by `jsonb_to_recordset` (absent values are NULL, which
    /// arrays of optionals cannot carry). Applying such a receipt (rare) is a further statement in
    /// the same transaction.
    public func recordOutcomes(_ records: [OutcomeRecord]) async throws -> [Bool] {
        guard !records.isEmpty else { return [] }
        let batch = String(decoding: try JSONEncoder().encode(records.map(OutcomeRow.init)), as: UTF8.self)
        return try await retryingConflicts { try await transaction(deadline: false) { [self] connection in
            let statement = PreparedStatements.RecordOutcomes(batch: batch)
            var rows: [PreparedStatements.RecordOutcomes.Row] = []
            // Not prepared: a generic plan, made while few rows are 'sending', walks every claim held.
            for try await row in try await connection.query(statement.query, logger: logger) {
                rows.append(try statement.decodeRow(row))
            }
            var applied = Set<Int64>()
            for (kind, id, level, at) in rows {
                guard kind == "receipt" else {
                    applied.insert(id)
                    continue
                }
                guard let level = level.flatMap({ AckLevel(rawValue: Int($0)) }), let at else { continue }
                _ = try await applyReceipt(level: level, at: Date(millis: at), messageId: id, connection)
            }
            return records.map { applied.contains($0.claim.id) }
        } }
    }

    /// Every reservation in one statement (`PreparedStatements.ReserveIds`, planned each time).
    public func recordReservedMessageIds(_ reservations: [MessageIdReservation]) async throws -> [Bool] {
        guard !reservations.isEmpty else { return [] }
        let statement = PreparedStatements.ReserveIds(
            ids: reservations.map(\.claim.id), tokens: reservations.map(\.claim.claimToken),
            messageIds: reservations.map(\.messageId))
        let updated = try await retryingConflicts {
            var updated = Set<Int64>()
            // Not prepared: a generic plan, made while few rows are 'sending', walks every claim held.
            for row in try await query(statement.query, logger: logger, deadline: false) {
                updated.insert(try statement.decodeRow(row))
            }
            return updated
        }
        return reservations.map { updated.contains($0.claim.id) }
    }

    public func releaseClaims(_ claims: [ClaimedMessage], owner: String) async throws {
        guard !claims.isEmpty else { return }
        try await retryingConflicts {
            _ = try await query(
                """
                WITH locked AS MATERIALIZED (
                    SELECT id FROM messages WHERE id = ANY(\(claims.map(\.id))::bigint[]) ORDER BY id FOR UPDATE
                )
                UPDATE messages m SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL
                FROM unnest(\(claims.map(\.id))::bigint[], \(claims.map(\.claimToken))::bigint[]) AS released(id, token),
                    locked
                WHERE m.id = released.id AND locked.id = released.id AND m.claim_token = released.token
                    AND m.status = 'sending' AND m.lease_owner = \(owner)
                """, logger: logger, deadline: false
            )
        }
    }

    /// One statement per step, so two instances recovering at once never both recover a claim.
    public func recoverExpiredClaims(now: Date, reconcileAfter delay: TimeInterval) async throws -> Int {
        let reason = StoreRules.recoveredReason
        let recovered = try await retryingConflicts { try await rows(
            """
            WITH locked AS MATERIALIZED (
                SELECT id FROM messages WHERE status = 'sending' AND lease_expires_at < \(now.millis) ORDER BY id FOR UPDATE
            ), recovered AS (
                UPDATE messages m SET status = 'pending', needs_reconcile = true,
                    send_started_at = COALESCE(send_started_at, claimed_at), lease_owner = NULL, lease_expires_at = NULL,
                    next_attempt_at = GREATEST(\(now.millis), COALESCE(claimed_at, \(now.millis)) + \(Int64(delay * 1000))),
                    attempt_count = attempt_count + 1, last_error = \(reason)
                FROM locked WHERE m.id = locked.id
                RETURNING m.id, m.claimed_at
            )
            INSERT INTO message_attempts (message_id, started_at, finished_at, outcome, reason)
            SELECT id, COALESCE(claimed_at, \(now.millis)), \(now.millis), \(AttemptOutcome.leaseExpired.rawValue), \(reason)
            FROM recovered RETURNING id
            """, deadline: false) }
        return recovered.count
    }

    public func markMissed(scheduledBefore cutoff: Date, reason: String, now: Date) async throws -> Int {
        let missed = try await retryingConflicts { try await rows(
            """
            WITH locked AS MATERIALIZED (
                SELECT id FROM messages
                WHERE status = 'pending' AND next_attempt_at <= \(now.millis) AND needs_reconcile = false
                    AND scheduled_at < \(cutoff.millis)
                ORDER BY id FOR UPDATE
            ), missed AS (
                UPDATE messages m SET status = 'missed',
                    failed_reason = \(reason) || COALESCE(last_error, \(StoreRules.notRunningReason))
                FROM locked WHERE m.id = locked.id
                RETURNING m.id, m.failed_reason
            )
            INSERT INTO message_attempts (message_id, started_at, finished_at, outcome, reason)
            SELECT id, \(now.millis), \(now.millis), \(AttemptOutcome.missed.rawValue), failed_reason FROM missed RETURNING id
            """, deadline: false) }
        return missed.count
    }

    public func nextDueAt() async throws -> Date? {
        for due in try await execute(PreparedStatements.NextDue(), deadline: false) {
            return due.map(Date.init(millis:))
        }
        return nil
    }

}

/// How an outcome changes a message row, as the values of one uniform update (`nil`: unchanged).
/// One outcome as a row of the batch `recordOutcomes` sends (keys are the SQL column names); a
/// value left nil keeps the column as it is.
struct OutcomeRow: Encodable {
    let id: Int64
    let claim_token: Int64
    var status = MessageStatus.pending.rawValue
    var is_sent = false
    var sent_at: Int64?
    var gateway_full: String?
    var gateway_raw: String?
    var needs_reconcile: Bool?
    var failed_reason: String?
    var next_attempt_at: Int64?
    var send_started_at: Int64?
    var last_error: String?
    let attempted: Int64
    let started_at: Int64
    let finished_at: Int64
    let outcome: String
    let gateway_status: Int64?
    let reason: String?
    let session: String

    init(_ record: OutcomeRecord) {
        let log = record.log
        id = record.claim.id
        claim_token = record.claim.claimToken
        attempted = log.attempted ? 1 : 0
        started_at = log.startedAt.millis
        finished_at = log.finishedAt.millis
        outcome = log.outcome.rawValue
        gateway_status = log.gatewayStatus.map(Int64.init)
        reason = log.reason
        session = record.claim.sessionName
        switch record.outcome {
        case .sent(let gatewayId):
            status = MessageStatus.sent.rawValue
            is_sent = true
            sent_at = log.finishedAt.millis
            gateway_full = gatewayId?.full
            gateway_raw = gatewayId?.raw
            needs_reconcile = false
        case .retry(let at, let reason, let needsReconcile, let sendStartedAt):
            next_attempt_at = at.millis
            needs_reconcile = needsReconcile
            send_started_at = sendStartedAt?.millis
            last_error = reason
        case .wait(let until, let reason):
            next_attempt_at = until.millis
            last_error = reason
        case .failed(let reason):
            status = MessageStatus.failed.rawValue
            failed_reason = reason
            needs_reconcile = false
        case .missed(let reason):
            status = MessageStatus.missed.rawValue
            failed_reason = reason
            needs_reconcile = false
        }
    }
}
