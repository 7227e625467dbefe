import CrierCore
import CrierStorage
import Foundation
import PostgresNIO

extension PostgresStore: StoreTestSeam {
    public func forceStatus(_ status: MessageStatus, campaignId: String, occurrence: Int) async throws {
        try await client.query(
            """
            UPDATE messages SET status = \(status.rawValue) WHERE occurrence_index = \(Int64(occurrence))
                AND (campaign_id, schedule_version) = (SELECT id, schedule_version FROM campaigns WHERE public_id = \(campaignId))
            """, logger: logger)
    }

    public func internals(ofMessage id: Int64) async throws -> MessageInternals? {
        try await rows("SELECT * FROM messages WHERE id = \(id)").first.map { row in
            MessageInternals(
                gatewayMessageId: try row["gateway_message_id"].decode(String?.self),
                gatewayRawId: try row["gateway_raw_id"].decode(String?.self),
                reservedMessageId: try row["reserved_message_id"].decode(String?.self),
                needsReconcile: try row["needs_reconcile"].decode(Bool.self),
                nextAttemptAt: Date(millis: try row["next_attempt_at"].decode(Int64.self)),
                leaseOwner: try row["lease_owner"].decode(String?.self), claimToken: try row["claim_token"].decode(Int64.self))
        }
    }

    public func messageCount(status: MessageStatus) async throws -> Int {
        try await count("SELECT COUNT(*) AS n FROM messages WHERE status = \(status.rawValue)")
    }

    public func leasedMessageCount() async throws -> Int {
        try await count("SELECT COUNT(*) AS n FROM messages WHERE lease_owner IS NOT NULL")
    }

    public func settle() async throws {
        try await client.query("VACUUM ANALYZE", logger: logger)
    }

    public func attemptCount(outcome: AttemptOutcome) async throws -> Int {
        try await count("SELECT COUNT(*) AS n FROM message_attempts WHERE outcome = \(outcome.rawValue)")
    }

    public func campaignCount() async throws -> Int { try await count("SELECT COUNT(*) AS n FROM campaigns") }

    public func forceSent(
        campaignId: String, occurrence: Int, gatewayMessageId: String, rawId: String, at: Date
    ) async throws -> String {
        try await rows(
            """
            UPDATE messages SET status = 'sent', sent_at = \(at.millis), gateway_message_id = \(gatewayMessageId),
                gateway_raw_id = \(rawId)
            WHERE occurrence_index = \(Int64(occurrence)) AND (campaign_id, schedule_version) =
                (SELECT id, schedule_version FROM campaigns WHERE public_id = \(campaignId))
            RETURNING public_id
            """
        ).first?["public_id"].decode(String.self) ?? ""
    }

    private func count(_ query: PostgresQuery) async throws -> Int {
        try await rows(query).first?["n"].decode(Int.self) ?? 0
    }

    /// Creates a schema (if missing) in the database at `url`: each test run gets its own, named in
    /// its URL's `search_path`.
    public static func createSchema(_ name: String, url: String) async throws {
        let store = try PostgresStore(url: PostgresURL(url))
        defer { store.close() }
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw PostgresURLError("schema names are letters, digits and _")
        }
        try await store.client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(name)"), logger: store.logger)
    }
}
