import CrierCore
import Foundation

/// How campaigns read back, for both back ends: the statements' text (but for how each passes a
/// list of row ids, `idList`), the columns and their order, and the assembly of rows into
/// `StoredCampaign`s. Each back end runs the statements its own way (SQLite in one read transaction).
package enum CampaignSQL {
    /// A campaign's row id, its columns and its session's, in the order `CampaignAssembly.campaign` reads.
    private static let columns = """
        c.id, c.public_id, c.owner_id, c.group_id, c.group_name, c.title, c.target_amount, c.start_date, c.end_date,
        c.is_recurring, c.recurrence, c.message_time, c.time_zone, c.template, c.is_free_form, c.audience_type,
        c.created_at, c.updated_at, c.deleted_at, s.public_id, s.name, s.owner_id, s.created_at, s.gateway_status
        """
    private static let select = "SELECT \(columns) FROM campaigns c JOIN whatsapp_sessions s ON s.id = c.session_id"
    /// The public id's position in a campaign row (the next page's cursor).
    package static let publicIdColumn = 1

    package static let byPublicId = SharedStatement("\(select) WHERE c.public_id = $1 AND c.owner_id = $2")
    package static let cursorRowId: SharedStatement = "SELECT id FROM campaigns WHERE public_id = $1 AND owner_id = $2"

    /// A page of the owner's (`$1`) campaigns with row ids below `$2`, newest first, `$3` at most.
    package static func page(_ listing: CampaignListing) -> SharedStatement {
        let open = """
            EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = c.id AND m.schedule_version = c.schedule_version
                    AND m.status IN (\(MessageStatus.pending.sql), \(MessageStatus.sending.sql)))
            """
        let filter = listing == .active ? open : "NOT " + open
        return SharedStatement(
            "\(select) WHERE c.owner_id = $1 AND c.deleted_at IS NULL AND c.id < $2 AND \(filter) ORDER BY c.id DESC LIMIT $3")
    }

    /// The current schedule's messages of campaigns whose row ids `idList` gives ($1), by status.
    package static func tallies(_ idList: String) -> String {
        """
        SELECT m.campaign_id, m.status, COUNT(*), MIN(m.scheduled_at), MAX(m.last_error)
        FROM messages m JOIN campaigns c ON c.id = m.campaign_id AND m.schedule_version = c.schedule_version
        WHERE m.campaign_id \(idList) GROUP BY m.campaign_id, m.status
        """
    }

    package static func messages(_ idList: String) -> String {
        """
        SELECT m.campaign_id, m.id, m.public_id, m.occurrence_index, m.occurrence_date, m.scheduled_at, m.content,
            m.status, m.attempt_count, m.sent_at, m.failed_reason, m.delivered_at, m.read_at
        FROM messages m JOIN campaigns c ON c.id = m.campaign_id AND m.schedule_version = c.schedule_version
        WHERE m.campaign_id \(idList) ORDER BY m.scheduled_at, m.occurrence_index
        """
    }

    package static func attempts(_ idList: String) -> String {
        """
        SELECT a.message_id, a.started_at, a.finished_at, a.outcome, a.gateway_status, a.reason
        FROM message_attempts a JOIN messages m ON m.id = a.message_id
        JOIN campaigns c ON c.id = m.campaign_id AND m.schedule_version = c.schedule_version
        WHERE m.campaign_id \(idList) ORDER BY a.id
        """
    }
}

/// Campaign rows and the rows about their messages, gathered into `StoredCampaign`s.
package struct CampaignAssembly {
    private var tallies: [Int64: MessageTally] = [:]
    private var firstSend: [Int64: Int64] = [:]
    private var nextSend: [Int64: Int64] = [:]
    private var waiting: [Int64: String] = [:]
    private var messages: [Int64: [StoredMessage]] = [:]
    private var attempts: [Int64: [AttemptLog]] = [:]
    private let includesMessages: Bool

    package init(includesMessages: Bool) { self.includesMessages = includesMessages }

    /// The row id of a campaign row.
    package static func rowId(_ row: some StoredRow) throws -> Int64 { try row.int64(0) }

    /// A row of `CampaignSQL.tallies`.
    package mutating func addTally(_ row: some StoredRow) throws {
        let campaign = try row.int64(0)
        let status = try row.value(1, as: MessageStatus.self)
        tallies[campaign, default: MessageTally()][status] = try row.int(2)
        let firstAt = try row.int64(3)
        firstSend[campaign] = min(firstSend[campaign] ?? .max, firstAt)
        if !status.isTerminal { nextSend[campaign] = min(nextSend[campaign] ?? .max, firstAt) }
        if status == .pending, let reason = try row.optionalText(4) { waiting[campaign] = reason }
    }

    /// A row of `CampaignSQL.attempts`; every attempt comes before the messages.
    package mutating func addAttempt(_ row: some StoredRow) throws {
        attempts[try row.int64(0), default: []].append(
            AttemptLog(
                startedAt: try row.date(1), finishedAt: try row.date(2), outcome: try row.value(3, as: AttemptOutcome.self),
                gatewayStatus: try row.optionalInt(4), reason: try row.optionalText(5), attempted: false))
    }

    /// A row of `CampaignSQL.messages`.
    package mutating func addMessage(_ row: some StoredRow) throws {
        var message = StoredMessage(
            id: try row.int64(1), publicId: try row.text(2), occurrenceIndex: try row.int(3),
            occurrenceDate: try row.localDate(4), scheduledAt: try row.date(5), content: try row.text(6),
            status: try row.value(7, as: MessageStatus.self), attemptCount: try row.int(8), sentAt: try row.optionalDate(9),
            failedReason: try row.optionalText(10), deliveredAt: try row.optionalDate(11), readAt: try row.optionalDate(12))
        message.attempts = attempts[message.id] ?? []
        messages[try row.int64(0), default: []].append(message)
    }

    /// A campaign row of `CampaignSQL`'s selects, with what was added about it.
    package func campaign(_ row: some StoredRow) throws -> StoredCampaign {
        let rowId = try row.int64(0)
        let session = WhatsAppSession(id: try row.text(19), name: try row.text(20), ownerId: try row.int64(21), createdAt: try row.date(22))
        let settings = CampaignSettings(
            groupId: try row.text(3), groupName: try row.text(4), sessionId: session.id, title: try row.optionalText(5),
            targetAmount: try row.optionalText(6),
            schedule: Schedule(
                startDate: try row.localDate(7), endDate: try row.localDate(8), isRecurring: try row.bool(9),
                recurrence: try row.value(10, as: Recurrence.self)),
            messageTime: try row.localTime(11), timeZoneIdentifier: try row.text(12), template: try row.text(13),
            isFreeForm: try row.bool(14), audienceType: try row.value(15, as: AudienceType.self))
        return StoredCampaign(
            id: try row.text(1), ownerId: try row.int64(2), session: session, settings: settings, createdAt: try row.date(16),
            updatedAt: try row.date(17), deletedAt: try row.optionalDate(18), tally: tallies[rowId] ?? MessageTally(),
            firstSendAt: firstSend[rowId].map(Date.init(millis:)), nextSendAt: nextSend[rowId].map(Date.init(millis:)),
            messages: includesMessages ? messages[rowId] ?? [] : nil, sessionStatus: try row.optionalText(23),
            waitingReason: waiting[rowId])
    }
}
