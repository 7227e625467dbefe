import CrierCore
import CrierStorage
import Foundation
import PostgresNIO

extension PostgresStore {
    public func createCampaigns(
        ownerId: Int64, sessionIdOrName: String, _ campaigns: [NewCampaign], at: Date
    ) async throws -> [String] {
        try await transaction { [self] connection in
            guard
                let sessionRowId = try await connection.rows(
                    PostgresQuery(SessionSQL.rowIdByIdOrName, [.int(ownerId), .text(sessionIdOrName)]), logger: logger
                ).first?["id"].decode(Int64.self)
            else { throw DomainError.sessionNotFound }
            var ids: [String] = []
            for campaign in campaigns {
                let publicId = RandomPublicId.uuid()
                let s = campaign.settings
                let inserted = try await connection.rows(
                    """
                    INSERT INTO campaigns (public_id, owner_id, session_id, group_id, group_name, audience_type, title,
                        target_amount, start_date, end_date, message_time, time_zone, template, is_free_form,
                        is_recurring, recurrence, schedule_version, created_at, updated_at)
                    VALUES (\(publicId), \(ownerId), \(sessionRowId), \(s.groupId), \(s.groupName), \(s.audienceType.rawValue),
                        \(s.title), \(s.targetAmount), \(s.schedule.startDate.description), \(s.schedule.endDate.description),
                        \(s.messageTime.description), \(s.timeZoneIdentifier), \(s.template), \(s.isFreeForm),
                        \(s.schedule.isRecurring), \(s.schedule.recurrence.rawValue), 1, \(at.millis), \(at.millis))
                    RETURNING id
                    """, logger: logger)
                guard let row = inserted.first else { throw DomainError.campaignNotFound }
                try await Self.insert(
                    campaign.messages, campaignRowId: try row["id"].decode(Int64.self), version: 1, at: at, connection, logger)
                ids.append(publicId)
            }
            try await charge(
                campaigns.map { UserQuota.Usage(template: $0.settings.template, messages: $0.messages.lazy.map(\.content), opensCampaign: true) },
                ownerId: ownerId, connection)
            return ids
        }
    }

    /// The owner's campaign's row id and schedule version, locked for a change to it; throws
    /// `campaignNotFound` (missing or another's) or `campaignDeleted`.
    func editableCampaign(_ campaignId: String, ownerId: Int64, _ connection: PostgresConnection) async throws -> (Int64, Int64) {
        guard
            let row = try await connection.rows(
                """
                SELECT id, schedule_version, deleted_at FROM campaigns
                WHERE public_id = \(campaignId) AND owner_id = \(ownerId) FOR UPDATE
                """, logger: logger
            ).first
        else { throw DomainError.campaignNotFound }
        guard try row["deleted_at"].decode(Int64?.self) == nil else { throw DomainError.campaignDeleted }
        return (try row["id"].decode(Int64.self), try row["schedule_version"].decode(Int64.self))
    }

    /// Adds what new schedules store to their owner's usage, or throws `DomainError.overQuota`,
    /// rolling the transaction back, when the sum passes `quota`. Last in its transaction: the
    /// user's row stays locked only from here to the commit.
    func charge(_ schedules: [UserQuota.Usage], ownerId: Int64, _ connection: PostgresConnection) async throws {
        let adding = UserQuota.Usage.total(schedules)
        guard
            let row = try await connection.rows(
                """
                UPDATE users SET campaigns_open = campaigns_open + \(Int64(adding.campaigns)),
                    messages_stored = messages_stored + \(Int64(adding.messages)), bytes_stored = bytes_stored + \(Int64(adding.bytes))
                WHERE id = \(ownerId) RETURNING campaigns_open, messages_stored, bytes_stored
                """, logger: logger
            ).first
        else { throw DomainError.userNotFound }
        let campaigns = try row["campaigns_open"].decode(Int64.self)
        let messages = try row["messages_stored"].decode(Int64.self)
        let bytes = try row["bytes_stored"].decode(Int64.self)
        let current = UserQuota.Usage(
            campaigns: Int(campaigns) - adding.campaigns, messages: Int(messages) - adding.messages,
            bytes: Int(bytes) - adding.bytes)
        if let excess = quota.excess(current: current, adding: adding) { throw excess }
    }

    /// Pending messages are cancelled first (locking them), and only then is the campaign checked
    /// for a message sent or being sent: a claim that raced ahead is seen, and the edit refused.
    public func replaceSchedule(
        campaignId: String, ownerId: Int64, settings s: CampaignSettings, messages: [PlannedMessage], at: Date
    ) async throws {
        try await transaction { [self] connection in
            let (rowId, currentVersion) = try await editableCampaign(campaignId, ownerId: ownerId, connection)
            let version = currentVersion + 1
            try await connection.query(
                """
                WITH locked AS MATERIALIZED (  -- in id order, as the dispatcher's writes: no deadlock with them
                    SELECT id FROM messages WHERE campaign_id = \(rowId) AND status = 'pending' ORDER BY id FOR UPDATE
                )
                UPDATE messages m SET status = 'cancelled', failed_reason = 'Campaign was edited'
                FROM locked WHERE m.id = locked.id
                """, logger: logger)
            let started = try await connection.rows(
                "SELECT 1 FROM messages WHERE campaign_id = \(rowId) AND status IN ('sent', 'sending') LIMIT 1",
                logger: logger)
            guard started.isEmpty else { throw DomainError.campaignAlreadySent }
            try await connection.query(
                """
                UPDATE campaigns SET group_id = \(s.groupId), group_name = \(s.groupName), audience_type = \(s.audienceType.rawValue),
                    title = \(s.title), target_amount = \(s.targetAmount), start_date = \(s.schedule.startDate.description),
                    end_date = \(s.schedule.endDate.description), message_time = \(s.messageTime.description),
                    time_zone = \(s.timeZoneIdentifier), template = \(s.template), is_free_form = \(s.isFreeForm),
                    is_recurring = \(s.schedule.isRecurring), recurrence = \(s.schedule.recurrence.rawValue),
                    schedule_version = \(version), updated_at = \(at.millis)
                WHERE id = \(rowId)
                """, logger: logger)
            try await Self.insert(messages, campaignRowId: rowId, version: version, at: at, connection, logger)
            try await charge(
                [UserQuota.Usage(template: s.template, messages: messages.lazy.map(\.content), opensCampaign: false)],
                ownerId: ownerId, connection)
        }
    }

    public func deleteCampaign(campaignId: String, ownerId: Int64, at: Date) async throws {
        try await transaction { [self] connection in
            guard
                let row = try await connection.rows(
                    """
                    SELECT id, deleted_at FROM campaigns WHERE public_id = \(campaignId) AND owner_id = \(ownerId) FOR UPDATE
                    """, logger: logger
                ).first
            else { throw DomainError.campaignNotFound }
            guard try row["deleted_at"].decode(Int64?.self) == nil else { return }
            let rowId = try row["id"].decode(Int64.self)
            try await connection.query(
                "UPDATE campaigns SET deleted_at = \(at.millis), updated_at = \(at.millis) WHERE id = \(rowId)", logger: logger)
            try await connection.query(
                "UPDATE users SET campaigns_open = campaigns_open - 1 WHERE id = \(ownerId)", logger: logger)
            try await connection.query(
                """
                WITH locked AS MATERIALIZED (  -- in id order, as the dispatcher's writes: no deadlock with them
                    SELECT id FROM messages WHERE campaign_id = \(rowId) AND status = 'pending' ORDER BY id FOR UPDATE
                )
                UPDATE messages m SET status = 'cancelled', failed_reason = 'Campaign was deleted'
                FROM locked WHERE m.id = locked.id
                """, logger: logger)
        }
    }

    public func campaign(id: String, ownerId: Int64) async throws -> StoredCampaign? {
        let rows = try await rows(PostgresQuery(CampaignSQL.byPublicId, [.text(id), .int(ownerId)]))
        return try await assemble(rows, includeMessages: true).first
    }

    public func campaigns(
        ownerId: Int64, listing: CampaignListing, limit: Int, cursor: String?, includeMessages: Bool
    ) async throws -> CampaignPage {
        var after = Int64.max
        if let cursor {
            guard let row = try await rows(PostgresQuery(CampaignSQL.cursorRowId, [.text(cursor), .int(ownerId)])).first
            else { throw DomainError.invalidCursor }
            after = try row.int64(0)
        }
        let rows = try await rows(PostgresQuery(CampaignSQL.page(listing), [.int(ownerId), .int(after), SQLValue(limit + 1)]))
        let page = Array(rows.prefix(limit))
        let campaigns = try await assemble(page, includeMessages: includeMessages)
        let next = rows.count > limit ? try page.last?.text(CampaignSQL.publicIdColumn) : nil
        return CampaignPage(campaigns: campaigns, nextCursor: next)
    }

    /// All of a schedule's messages in one statement (arrays unnested server-side).
    static func insert(
        _ messages: [PlannedMessage], campaignRowId: Int64, version: Int64, at: Date, _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws {
        guard !messages.isEmpty else { return }
        let indexes = messages.map { Int64($0.occurrenceIndex) }
        let dates = messages.map { $0.occurrenceDate.description }
        let instants = messages.map { $0.scheduledAt.millis }
        let contents = messages.map(\.content)
        let publicIds = MessagePublicId.make(count: messages.count, at: at)
        try await connection.query(
            """
            INSERT INTO messages (campaign_id, schedule_version, occurrence_index, occurrence_date, scheduled_at, content,
                next_attempt_at, public_id)
            SELECT \(campaignRowId), \(version), i, d, t, c, t, p
            FROM unnest(\(indexes)::bigint[], \(dates)::text[], \(instants)::bigint[], \(contents)::text[], \(publicIds)::text[])
                AS planned(i, d, t, c, p)
            """, logger: logger)
    }

    /// Campaigns from rows of a `CampaignSQL` select, with their tallies (and messages and attempts).
    func assemble(_ rows: [PostgresRandomAccessRow], includeMessages: Bool) async throws -> [StoredCampaign] {
        guard !rows.isEmpty else { return [] }
        var rowIds = PostgresBindings()
        rowIds.append(try rows.map(CampaignAssembly.rowId))
        let idList = "= ANY($1)"
        var assembly = CampaignAssembly(includesMessages: includeMessages)
        for row in try await self.rows(PostgresQuery(unsafeSQL: CampaignSQL.tallies(idList), binds: rowIds)) {
            try assembly.addTally(row)
        }
        if includeMessages {
            for row in try await self.rows(PostgresQuery(unsafeSQL: CampaignSQL.attempts(idList), binds: rowIds)) {
                try assembly.addAttempt(row)
            }
            for row in try await self.rows(PostgresQuery(unsafeSQL: CampaignSQL.messages(idList), binds: rowIds)) {
                try assembly.addMessage(row)
            }
        }
        return try rows.map(assembly.campaign)
    }
}

extension PostgresStore {
    public func correctUpcoming(
        campaignId: String, ownerId: Int64, settings s: CampaignSettings, contents: [Int: String], at: Date
    ) async throws -> Int {
        try await transaction { [self] connection in
            let (rowId, currentVersion) = try await editableCampaign(campaignId, ownerId: ownerId, connection)
            let version = currentVersion
            let indexes = contents.keys.sorted().map(Int64.init)
            let texts = contents.keys.sorted().compactMap { contents[$0] }
            // One statement, rows locked in id order as the dispatcher's writes lock them.
            let updated = try await connection.rows(
                """
                WITH locked AS MATERIALIZED (
                    SELECT id, occurrence_index, octet_length(content) AS before FROM messages
                    WHERE campaign_id = \(rowId) AND schedule_version = \(version) AND status = 'pending'
                        AND occurrence_index = ANY(\(indexes)::bigint[])
                    ORDER BY id FOR UPDATE
                ), given AS (
                    SELECT * FROM unnest(\(indexes)::bigint[], \(texts)::text[]) AS g(occurrence_index, content)
                )
                UPDATE messages m SET content = given.content FROM locked JOIN given USING (occurrence_index)
                WHERE m.id = locked.id RETURNING octet_length(m.content) - locked.before AS delta
                """, logger: logger)
            let delta = try updated.reduce(0) { $0 + Int(try $1["delta"].decode(Int64.self)) }
            try await connection.query(
                """
                UPDATE campaigns SET title = \(s.title), target_amount = \(s.targetAmount), template = \(s.template),
                    is_free_form = \(s.isFreeForm), updated_at = \(at.millis) WHERE id = \(rowId)
                """, logger: logger)
            try await charge([UserQuota.Usage(campaigns: 0, messages: 0, bytes: delta + s.template.utf8.count)], ownerId: ownerId, connection)
            return updated.count
        }
    }
}
