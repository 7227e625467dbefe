import CrierCore
import Foundation
import GRDB

extension SQLiteStore {
    public func createCampaigns(
        ownerId: Int64, sessionIdOrName: String, _ campaigns: [NewCampaign], at: Date
    ) async throws -> [String] {
        try await creations.submit(CampaignCreation(ownerId: ownerId, sessionIdOrName: sessionIdOrName, campaigns: campaigns, at: at))
    }

    /// Stores one request's campaigns inside the caller's transaction, within the owner's quota.
    static func insertCampaigns(_ creation: CampaignCreation, quota: UserQuota, db: Database) throws -> [String] {
        guard
            let sessionRowId = try Int64.fetchOne(
                db.cachedStatement(sql: SessionSQL.rowIdByIdOrName.sqlite), arguments: [creation.ownerId, creation.sessionIdOrName])
        else { throw DomainError.sessionNotFound }
        let at = creation.at
        try charge(
            creation.campaigns.map { UserQuota.Usage(template: $0.settings.template, messages: $0.messages.lazy.map(\.content), opensCampaign: true) },
            ownerId: creation.ownerId, quota: quota, db: db)
        return try creation.campaigns.map { campaign in
            let publicId = RandomPublicId.uuid()
            try db.cachedStatement(
                sql: """
                    INSERT INTO campaigns (public_id, owner_id, session_id, group_id, group_name, audience_type, title,
                        target_amount, start_date, end_date, message_time, time_zone, template, is_free_form,
                        is_recurring, recurrence, schedule_version, created_at, updated_at, unstaged_from)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
                    """
            ).execute(
                arguments: [publicId, creation.ownerId, sessionRowId] + Self.settingsArguments(campaign.settings)
                    + [at.millis, at.millis, Self.firstUnstaged(campaign.messages.lazy.map(\.scheduledAt.millis), writtenAt: at)])
            try Self.insert(campaign.messages, campaignRowId: db.lastInsertedRowID, version: 1, at: at, db: db)
            return publicId
        }
    }

    public func replaceSchedule(
        campaignId: String, ownerId: Int64, settings: CampaignSettings, messages: [PlannedMessage], at: Date
    ) async throws {
        try await transaction { [quota] db in
            let (rowId, currentVersion) = try Self.editableCampaign(campaignId, ownerId: ownerId, db: db)
            let version = Int(currentVersion) + 1
            let started = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM messages WHERE campaign_id = ? AND status IN (\(MessageStatus.sent.sql), \(MessageStatus.sending.sql)))",
                arguments: [rowId]) ?? false
            guard !started else { throw DomainError.campaignAlreadySent }
            try Self.charge(
                [UserQuota.Usage(template: settings.template, messages: messages.lazy.map(\.content), opensCampaign: false)],
                ownerId: ownerId, quota: quota, db: db)
            try db.execute(
                sql: """
                    UPDATE messages SET status = \(MessageStatus.cancelled.sql), failed_reason = 'Campaign was edited'
                    WHERE campaign_id = ? AND status = \(MessageStatus.pending.sql)
                    """,
                arguments: [rowId])
            try db.execute(
                sql: """
                    UPDATE campaigns SET group_id = ?, group_name = ?, audience_type = ?, title = ?, target_amount = ?,
                        start_date = ?, end_date = ?, message_time = ?, time_zone = ?, template = ?, is_free_form = ?,
                        is_recurring = ?, recurrence = ?, schedule_version = ?, updated_at = ?, unstaged_from = ?
                    WHERE id = ?
                    """,
                arguments: Self.settingsArguments(settings)
                    + [version, at.millis, Self.firstUnstaged(messages.lazy.map(\.scheduledAt.millis), writtenAt: at), rowId])
            try Self.insert(messages, campaignRowId: rowId, version: version, at: at, db: db)
        }
    }

    public func deleteCampaign(campaignId: String, ownerId: Int64, at: Date) async throws {
        try await transaction { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT id, deleted_at FROM campaigns WHERE public_id = ? AND owner_id = ?",
                    arguments: [campaignId, ownerId])
            else { throw DomainError.campaignNotFound }
            guard (row["deleted_at"] as Int64?) == nil else { return }
            let rowId: Int64 = row["id"]
            try db.execute(
                sql: "UPDATE campaigns SET deleted_at = ?, updated_at = ?, unstaged_from = NULL WHERE id = ?",
                arguments: [at.millis, at.millis, rowId])
            try db.execute(sql: "UPDATE users SET campaigns_open = campaigns_open - 1 WHERE id = ?", arguments: [ownerId])
            try db.execute(
                sql: """
                    UPDATE messages SET status = \(MessageStatus.cancelled.sql), failed_reason = 'Campaign was deleted'
                    WHERE campaign_id = ? AND status = \(MessageStatus.pending.sql)
                    """,
                arguments: [rowId])
        }
    }

    /// The owner's campaign's row id and schedule version, for a change to it; throws
    /// `campaignNotFound` (missing or another's) or `campaignDeleted`.
    static func editableCampaign(_ campaignId: String, ownerId: Int64, db: Database) throws -> (rowId: Int64, version: Int64) {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT id, schedule_version, deleted_at FROM campaigns WHERE public_id = ? AND owner_id = ?",
                arguments: [campaignId, ownerId])
        else { throw DomainError.campaignNotFound }
        guard (row["deleted_at"] as Int64?) == nil else { throw DomainError.campaignDeleted }
        return (row["id"], row["schedule_version"])
    }

    /// Adds what new schedules store to their owner's usage, or throws `DomainError.overQuota`
    /// (nothing added) when the sum would pass `quota`.
    static func charge(_ schedules: [UserQuota.Usage], ownerId: Int64, quota: UserQuota, db: Database) throws {
        let adding = UserQuota.Usage.total(schedules)
        guard
            let current = try firstRow(
                try db.cachedStatement(sql: "SELECT campaigns_open, messages_stored, bytes_stored FROM users WHERE id = ?"),
                arguments: [ownerId], { row in UserQuota.Usage(campaigns: row[0], messages: row[1], bytes: row[2]) })
        else { throw DomainError.userNotFound }
        if let excess = quota.excess(current: current, adding: adding) { throw excess }
        try db.cachedStatement(
            sql: """
                UPDATE users SET campaigns_open = campaigns_open + ?, messages_stored = messages_stored + ?,
                    bytes_stored = bytes_stored + ? WHERE id = ?
                """
        ).execute(arguments: [adding.campaigns, adding.messages, adding.bytes, ownerId])
    }

    public func campaign(id: String, ownerId: Int64) async throws -> StoredCampaign? {
        try await writer.read { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: CampaignSQL.byPublicId.sqlite), arguments: [id, ownerId])
            return try Self.assemble(rows, includeMessages: true, db: db).first
        }
    }

    public func campaigns(
        ownerId: Int64, listing: CampaignListing, limit: Int, cursor: String?, includeMessages: Bool
    ) async throws -> CampaignPage {
        try await writer.read { db in
            var after = Int64.max
            if let cursor {
                guard
                    let rowId = try Int64.fetchOne(
                        db.cachedStatement(sql: CampaignSQL.cursorRowId.sqlite), arguments: [cursor, ownerId])
                else { throw DomainError.invalidCursor }
                after = rowId
            }
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: CampaignSQL.page(listing).sqlite), arguments: [ownerId, after, limit + 1])
            let page = Array(rows.prefix(limit))
            let campaigns = try Self.assemble(page, includeMessages: includeMessages, db: db)
            let next = rows.count > limit ? try page.last?.text(CampaignSQL.publicIdColumn) : nil
            return CampaignPage(campaigns: campaigns, nextCursor: next)
        }
    }

    // MARK: Row mapping

    private static func settingsArguments(_ settings: CampaignSettings) -> StatementArguments {
        [
            settings.groupId, settings.groupName, settings.audienceType.rawValue, settings.title,
            settings.targetAmount, settings.schedule.startDate.description, settings.schedule.endDate.description,
            settings.messageTime.description, settings.timeZoneIdentifier, settings.template, settings.isFreeForm,
            settings.schedule.isRecurring, settings.schedule.recurrence.rawValue,
        ]
    }

    /// Writes a schedule's messages, those due beyond the staging horizon outside the due index (the
    /// caller sets the campaign's `unstaged_from` from the same messages, through `firstUnstaged`).
    private static func insert(
        _ messages: [PlannedMessage], campaignRowId: Int64, version: Int, at: Date, db: Database
    ) throws {
        let publicIds = MessagePublicId.make(count: messages.count, at: at)
        try messageRows.insert(count: messages.count, db: db) { index, values in
            let message = messages[index]
            let dueAt = message.scheduledAt.millis
            values += [
                campaignRowId, version, message.occurrenceIndex, message.occurrenceDate.description, dueAt,
                message.content, dueAt, publicIds[index], isStaged(dueAt: dueAt, writtenAt: at),
            ]
        }
    }

    private static let messageRows = MultiRowInsert(
        table: "messages",
        columns: [
            "campaign_id", "schedule_version", "occurrence_index", "occurrence_date", "scheduled_at", "content",
            "next_attempt_at", "public_id", "staged",
        ])

    /// Builds campaigns from rows of a `CampaignSQL` select, with their tallies (and messages) in
    /// two (four) more queries, all in the caller's read.
    private static func assemble(_ rows: [Row], includeMessages: Bool, db: Database) throws -> [StoredCampaign] {
        guard !rows.isEmpty else { return [] }
        let rowIds: StatementArguments = [jsonArray(try rows.map(CampaignAssembly.rowId))]
        var assembly = CampaignAssembly(includesMessages: includeMessages)
        for row in try Row.fetchAll(db.cachedStatement(sql: CampaignSQL.tallies(idList)), arguments: rowIds) {
            try assembly.addTally(row)
        }
        if includeMessages {
            for row in try Row.fetchAll(db.cachedStatement(sql: CampaignSQL.attempts(idList)), arguments: rowIds) {
                try assembly.addAttempt(row)
            }
            for row in try Row.fetchAll(db.cachedStatement(sql: CampaignSQL.messages(idList)), arguments: rowIds) {
                try assembly.addMessage(row)
            }
        }
        return try rows.map(assembly.campaign)
    }

    /// Row ids passed as one JSON array, so each statement's text is the same whatever their number.
    private static let idList = "IN (SELECT value FROM json_each(?))"
}

extension SQLiteStore {
    public func correctUpcoming(
        campaignId: String, ownerId: Int64, settings: CampaignSettings, contents: [Int: String], at: Date
    ) async throws -> Int {
        try await transaction { [quota] db in
            let (rowId, currentVersion) = try Self.editableCampaign(campaignId, ownerId: ownerId, db: db)
            let version = currentVersion
            let before = try Int.fetchOne(
                db, sql: """
                    SELECT COALESCE(SUM(LENGTH(CAST(content AS BLOB))), 0) FROM messages
                    WHERE campaign_id = ? AND schedule_version = ? AND status = \(MessageStatus.pending.sql)
                    """, arguments: [rowId, version]) ?? 0
            var changed = 0
            var after = 0
            let update = try db.makeStatement(
                sql: """
                    UPDATE messages SET content = ? WHERE campaign_id = ? AND schedule_version = ? AND occurrence_index = ?
                    AND status = \(MessageStatus.pending.sql)
                    """)
            for (occurrence, content) in contents.sorted(by: { $0.key < $1.key }) {
                try update.execute(arguments: [content, rowId, version, occurrence])
                if db.changesCount > 0 {
                    changed += 1
                    after += content.utf8.count
                }
            }
            try Self.charge(
                [UserQuota.Usage(campaigns: 0, messages: 0, bytes: after - before + settings.template.utf8.count)],
                ownerId: ownerId, quota: quota, db: db)
            try db.execute(
                sql: "UPDATE campaigns SET title = ?, target_amount = ?, template = ?, is_free_form = ?, updated_at = ? WHERE id = ?",
                arguments: [settings.title, settings.targetAmount, settings.template, settings.isFreeForm, at.millis, rowId])
            return changed
        }
    }
}
