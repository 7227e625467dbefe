import CrierCore
import Foundation
import GRDB

extension SQLiteStore: StoreTestSeam {
    public func forceStatus(_ status: MessageStatus, campaignId: String, occurrence: Int) async throws {
        try await transaction { db in
            try db.execute(
                sql: """
                    UPDATE messages SET status = ? WHERE occurrence_index = ? AND (campaign_id, schedule_version) =
                        (SELECT id, schedule_version FROM campaigns WHERE public_id = ?)
                    """,
                arguments: [status, occurrence, campaignId])
        }
    }

    public func internals(ofMessage id: Int64) async throws -> MessageInternals? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM messages WHERE id = ?", arguments: [id]).map { row in
                MessageInternals(
                    gatewayMessageId: row["gateway_message_id"], gatewayRawId: row["gateway_raw_id"],
                    reservedMessageId: row["reserved_message_id"], needsReconcile: row["needs_reconcile"],
                    nextAttemptAt: Date(millis: row["next_attempt_at"]), leaseOwner: row["lease_owner"],
                    claimToken: row["claim_token"])
            }
        }
    }

    public func messageCount(status: MessageStatus) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE status = ?", arguments: [status]) ?? 0
        }
    }

    public func leasedMessageCount() async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE lease_owner IS NOT NULL") ?? 0
        }
    }

    public func settle() async throws {
        try await writer.write { db in try db.execute(sql: "ANALYZE") }
    }

    public func attemptCount(outcome: AttemptOutcome) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message_attempts WHERE outcome = ?", arguments: [outcome]) ?? 0
        }
    }

    public func campaignCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM campaigns") ?? 0 }
    }

    public func forceSent(
        campaignId: String, occurrence: Int, gatewayMessageId: String, rawId: String, at: Date
    ) async throws -> String {
        try await transaction { db in
            let scope = """
                occurrence_index = ? AND (campaign_id, schedule_version) =
                    (SELECT id, schedule_version FROM campaigns WHERE public_id = ?)
                """
            try db.execute(
                sql: "UPDATE messages SET status = 'sent', sent_at = ?, gateway_message_id = ?, gateway_raw_id = ? WHERE \(scope)",
                arguments: [at.millis, gatewayMessageId, rawId, occurrence, campaignId])
            return try String.fetchOne(db, sql: "SELECT public_id FROM messages WHERE \(scope)", arguments: [occurrence, campaignId])
                ?? ""
        }
    }
}
