import CrierCore
import CrierStorage
import Foundation
import PostgresNIO

/// The dispatcher's statements that run for every pass or every batch of sends. The two of every pass
/// (`NextDue`, `ClaimDue`) are prepared once per connection: planning them each time was most of
/// PostgreSQL's CPU at 200 messages a second, each due at its own instant. The batch writes are run
/// as plain queries (`query`), planned for their own batch: a generic plan, made while few rows are
/// `sending`, walked every held claim for each batch (burst throughput 3,100 → 2,000 msg/s).
enum PreparedStatements {
    /// When the earliest pending message falls due.
    struct NextDue: PostgresPreparedStatement {
        static let sql = "SELECT MIN(next_attempt_at) FROM messages WHERE status = 'pending'"
        typealias Row = Int64?

        func makeBindings() -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64?.self) }
    }

    /// Claims due messages: locked with `SKIP LOCKED` (another instance's claim in progress is passed
    /// over, never waited for or taken twice), leased, their fencing token bumped. The claimed ids are
    /// handed on as an array: joined to `due` instead, the generic plan hashed the whole `messages`
    /// table for every claim (400 buffers for one message, three-quarters of PostgreSQL's CPU at 200
    /// messages a second); looked up by primary key, a claim reads a handful.
    struct ClaimDue: PostgresPreparedStatement {
        static let sql = """
            WITH due AS (
                SELECT id FROM messages WHERE status = 'pending' AND next_attempt_at <= $1
                ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
            )
            UPDATE messages m SET status = 'sending', claim_token = m.claim_token + 1, lease_owner = $3,
                lease_expires_at = $4, claimed_at = $1
            FROM campaigns c, whatsapp_sessions s
            WHERE m.id = ANY(ARRAY(SELECT id FROM due)) AND c.id = m.campaign_id AND s.id = c.session_id
            RETURNING m.id, m.claim_token, m.attempt_count, c.public_id, s.name, c.group_id, m.content, m.scheduled_at,
                m.needs_reconcile, m.send_started_at, m.last_error, m.reserved_message_id, c.owner_id, s.gateway_status
            """
        typealias Row = ClaimedMessage

        let now: Int64
        let limit: Int64
        let owner: String
        let leaseUntil: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(now)
            bindings.append(limit)
            bindings.append(owner)
            bindings.append(leaseUntil)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            let (id, token, attempts, campaign, session, chat, content, scheduled, reconcile, started, error, reserved, owner, status) =
                try row.decode(
                    (Int64, Int64, Int, String, String, String, String, Int64, Bool, Int64?, String?, String?, Int64, String?).self)
            return ClaimedMessage(
                id: id, claimToken: token, attemptCount: attempts, campaignId: campaign, sessionName: session,
                chatId: chat, content: content, scheduledAt: Date(millis: scheduled), needsReconcile: reconcile,
                sendStartedAt: started.map(Date.init(millis:)), lastError: error, reservedMessageId: reserved,
                ownerId: owner, storedSessionStatus: status)
        }
    }

    /// Stores reserved ids for claims still held: ids, claims and tokens as parallel arrays.
    struct ReserveIds: PlannedEachTime {
        static let sql = """
            WITH locked AS MATERIALIZED (SELECT id FROM messages WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE)
            UPDATE messages m SET reserved_message_id = r.message_id
            FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS r(id, claim_token, message_id), locked
            WHERE m.id = r.id AND locked.id = r.id AND m.claim_token = r.claim_token AND m.status = 'sending'
            RETURNING m.id
            """
        typealias Row = Int64

        let ids: [Int64]
        let tokens: [Int64]
        let messageIds: [String]

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(ids)
            bindings.append(tokens)
            bindings.append(messageIds)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64.self) }
    }

    /// A batch of outcomes, as one JSON array (see `PostgresStore.recordOutcomes`). Rows are found by
    /// primary key from an array of ids: joined to the record set (which PostgreSQL guesses at 100
    /// rows), the plan hashed the whole `messages` table for each batch.
    struct RecordOutcomes: PlannedEachTime {
        static let sql = """
            WITH input AS (
                    SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(
                        id bigint, claim_token bigint, status text, is_sent boolean, sent_at bigint, gateway_full text,
                        gateway_raw text, needs_reconcile boolean, failed_reason text, next_attempt_at bigint,
                        send_started_at bigint, last_error text, attempted bigint, started_at bigint, finished_at bigint,
                        outcome text, gateway_status bigint, reason text, session text)
                ), locked AS MATERIALIZED (
                    SELECT id FROM messages WHERE id = ANY(ARRAY(SELECT id FROM input)) ORDER BY id FOR UPDATE
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
                    WHERE m.id = ANY(ARRAY(SELECT id FROM locked)) AND m.id = i.id AND m.claim_token = i.claim_token
                        AND m.status = 'sending'
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
            """
        typealias Row = (kind: String, id: Int64, level: Int64?, at: Int64?)

        let batch: String

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(batch)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode((String, Int64, Int64?, Int64?).self)
        }
    }
}

/// A statement written like a prepared one but sent as a plain query, planned for its own values.
protocol PlannedEachTime: PostgresPreparedStatement {}

extension PlannedEachTime {
    var query: PostgresQuery { PostgresQuery(unsafeSQL: Self.sql, binds: (try? makeBindings()) ?? PostgresBindings()) }
}
