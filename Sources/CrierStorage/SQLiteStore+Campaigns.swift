import CrierCore
import Foundation
import GRDB

extension SQLiteStore {
    public func createCampaigns(
        ownerId: Int64, sessionIdOrName: String, _ campaigns: [NewCampaign], at: Date
    ) async throws -> [String] {
        try await creations.submit(CampaignCreation(ownerId: ownerId, sessionIdOrName: sessionIdOrName, campaigns: campaigns, at: at))
    }

    private static let sessionRowIdByIdOrName = "SELECT id FROM whatsapp_sessions WHERE \(WhatsAppSession.ownersByIdOrName)"

    /// Stores one request's campaigns inside the caller's transaction, within the owner's quota.
    static func insertCampaigns(_ creation: CampaignCreation, quota: UserQuota, db: Database) throws -> [String] {
        guard
            let sessionRowId = try Int64.fetchOne(
                db.cachedStatement(sql: sessionRowIdByIdOrName),
                arguments: [creation.ownerId, creation.sessionIdOrName, creation.sessionIdOrName, creation.sessionIdOrName])
        else { throw DomainError.sessionNotFound }
        let at = creation.at
        try charge(
            creation.campaigns.map { UserQuota.Usage(template: $0.settings.template, messages: $0.messages.lazy.map(\.content), opensCampaign: true) },
            ownerId: creation.ownerId, quota: quota, db: db)
        return try creation.campaigns.map { campaign in
            let publicId = newPublicId()
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
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: Self.campaignSelect + " WHERE c.public_id = ? AND c.owner_id = ?"),
                arguments: [id, ownerId])
            return try Self.assemble(rows, includeMessages: true, db: db).first
        }
    }

    public func campaigns(
        ownerId: Int64, listing: CampaignListing, limit: Int, cursor: String?, includeMessages: Bool
    ) async throws -> CampaignPage {
        let openMessages = """
            EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = c.id AND m.schedule_version = c.schedule_version
                    AND m.status IN (\(MessageStatus.pending.sql), \(MessageStatus.sending.sql)))
            """
        let filter = listing == .active ? openMessages : "NOT " + openMessages
        return try await writer.read { db in
            var after = Int64.max
            if let cursor {
                guard
                    let rowId = try Int64.fetchOne(
                        db.cachedStatement(sql: "SELECT id FROM campaigns WHERE public_id = ? AND owner_id = ?"),
                        arguments: [cursor, ownerId])
                else { throw DomainError.invalidCursor }
                after = rowId
            }
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: Self.campaignSelect + """
                         WHERE c.owner_id = ? AND c.deleted_at IS NULL AND c.id < ? AND \(filter)
                        ORDER BY c.id DESC LIMIT ?
                        """),
                arguments: [ownerId, after, limit + 1])
            let page = Array(rows.prefix(limit))
            let campaigns = try Self.assemble(page, includeMessages: includeMessages, db: db)
            let next: String? = rows.count > limit ? page.last.map { $0["public_id"] } : nil
            return CampaignPage(campaigns: campaigns, nextCursor: next)
        }
    }

    // MARK: Row mapping

    private static let campaignSelect = """
        SELECT c.*, s.public_id AS session_public_id, s.name AS session_name, s.owner_id AS session_owner_id,
            s.created_at AS session_created_at, s.gateway_status AS session_status
        FROM campaigns c JOIN whatsapp_sessions s ON s.id = c.session_id
        """

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

    /// Builds campaigns from rows of `campaignSelect`, with their tallies (and messages) in two queries.
    private static func assemble(_ rows: [Row], includeMessages: Bool, db: Database) throws -> [StoredCampaign] {
        guard !rows.isEmpty else { return [] }
        let rowIds: [Int64] = rows.map { $0["id"] }
        let marks = databaseQuestionMarks(count: rowIds.count)
        var tallies: [Int64: MessageTally] = [:]
        var firstSend: [Int64: Int64] = [:]
        var nextSend: [Int64: Int64] = [:]
        var waiting: [Int64: String] = [:]
        let counts = try Row.fetchAll(
            db,
            sql: """
                SELECT m.campaign_id, m.status, COUNT(*) AS n, MIN(m.scheduled_at) AS first_at, MAX(m.last_error) AS waiting
                FROM messages m JOIN campaigns c ON c.id = m.campaign_id AND m.schedule_version = c.schedule_version
                WHERE m.campaign_id IN (\(marks)) GROUP BY m.campaign_id, m.status
                """,
            arguments: StatementArguments(rowIds))
        for row in counts {
            let campaignId: Int64 = row["campaign_id"]
            guard let status = MessageStatus(rawValue: row["status"]) else { continue }
            tallies[campaignId, default: MessageTally()][status] = row["n"]
            let firstAt: Int64 = row["first_at"]
            firstSend[campaignId] = min(firstSend[campaignId] ?? .max, firstAt)
            if !status.isTerminal { nextSend[campaignId] = min(nextSend[campaignId] ?? .max, firstAt) }
            if status == .pending, let reason: String = row["waiting"] { waiting[campaignId] = reason }
        }
        var messages: [Int64: [StoredMessage]] = [:]
        if includeMessages {
            let messageRows = try Row.fetchAll(
                db,
                sql: """
                    SELECT m.* FROM messages m
                    JOIN campaigns c ON c.id = m.campaign_id AND m.schedule_version = c.schedule_version
                    WHERE m.campaign_id IN (\(marks)) ORDER BY m.scheduled_at, m.occurrence_index
                    """,
                arguments: StatementArguments(rowIds))
            var attempts: [Int64: [AttemptLog]] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT a.* FROM message_attempts a JOIN messages m ON m.id = a.message_id
                    JOIN campaigns c ON c.id = m.campaign_id AND m.schedule_version = c.schedule_version
                    WHERE m.campaign_id IN (\(marks)) ORDER BY a.id
                    """,
                arguments: StatementArguments(rowIds))
            {
                attempts[row["message_id"], default: []].append(
                    AttemptLog(
                        startedAt: Date(millis: row["started_at"]), finishedAt: Date(millis: row["finished_at"]),
                        outcome: row["outcome"], gatewayStatus: row["gateway_status"], reason: row["reason"],
                        attempted: false))
            }
            for row in messageRows {
                var message = try StoredMessage(row: row)
                message.attempts = attempts[message.id] ?? []
                messages[row["campaign_id"], default: []].append(message)
            }
        }
        return try rows.map { row in
            let rowId: Int64 = row["id"]
            return try StoredCampaign(
                row: row, tally: tallies[rowId] ?? MessageTally(), firstSendAt: firstSend[rowId].map(Date.init(millis:)),
                nextSendAt: nextSend[rowId].map(Date.init(millis:)),
                messages: includeMessages ? messages[rowId] ?? [] : nil, waitingReason: waiting[rowId])
        }
    }
}

extension StoredValueError {
    static func date(_ row: Row, _ column: String) throws -> LocalDate { try date(row[column] as String, column: column) }
    static func time(_ row: Row, _ column: String) throws -> LocalTime { try time(row[column] as String, column: column) }
}

extension StoredMessage {
    init(row: Row) throws {
        self.init(
            id: row["id"], publicId: row["public_id"], occurrenceIndex: row["occurrence_index"],
            occurrenceDate: try StoredValueError.date(row, "occurrence_date"), scheduledAt: Date(millis: row["scheduled_at"]),
            content: row["content"], status: MessageStatus(rawValue: row["status"]) ?? .pending,
            attemptCount: row["attempt_count"], sentAt: (row["sent_at"] as Int64?).map(Date.init(millis:)),
            failedReason: row["failed_reason"], deliveredAt: (row["delivered_at"] as Int64?).map(Date.init(millis:)),
            readAt: (row["read_at"] as Int64?).map(Date.init(millis:)))
    }
}

extension StoredCampaign {
    init(
        row: Row, tally: MessageTally, firstSendAt: Date?, nextSendAt: Date?, messages: [StoredMessage]?,
        waitingReason: String?
    ) throws {
        let session = WhatsAppSession(
            id: row["session_public_id"], name: row["session_name"], ownerId: row["session_owner_id"],
            createdAt: Date(millis: row["session_created_at"]))
        let settings = CampaignSettings(
            groupId: row["group_id"], groupName: row["group_name"], sessionId: session.id, title: row["title"],
            targetAmount: row["target_amount"],
            schedule: Schedule(
                startDate: try StoredValueError.date(row, "start_date"), endDate: try StoredValueError.date(row, "end_date"),
                isRecurring: row["is_recurring"], recurrence: Recurrence(rawValue: row["recurrence"]) ?? .daily),
            messageTime: try StoredValueError.time(row, "message_time"), timeZoneIdentifier: row["time_zone"],
            template: row["template"], isFreeForm: row["is_free_form"],
            audienceType: AudienceType(rawValue: row["audience_type"]) ?? .groups)
        self.init(
            id: row["public_id"], ownerId: row["owner_id"], session: session, settings: settings,
            createdAt: Date(millis: row["created_at"]), updatedAt: Date(millis: row["updated_at"]),
            deletedAt: (row["deleted_at"] as Int64?).map(Date.init(millis:)), tally: tally, firstSendAt: firstSendAt,
            nextSendAt: nextSendAt, messages: messages, sessionStatus: row["session_status"], waitingReason: waitingReason)
    }
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
