import CrierCore
import CrierService
import Foundation

/// A campaign as the list shows it: progress, next send in its own zone, a status badge.
struct CampaignRow {
    let id: String
    let title: String
    let chat: String
    let audience: String
    let status: String
    let statusClass: String
    let sent: Int
    let total: Int
    let percent: Int
    let nextSend: String?
    let timeZone: String
    let isDeleted: Bool
    /// What needs the organiser's eye, in words ("1 missed"), with its kind for the colour.
    let attention: [AttentionRow]
    let hasAttention: Bool

    init(_ campaign: StoredCampaign) {
        let settings = campaign.settings
        id = campaign.id
        title = settings.title ?? settings.groupName
        chat = settings.groupName
        audience = settings.audienceType == .groups ? "Group" : "Contact"
        status = CampaignRow.statusText(campaign.status)
        statusClass = campaign.status.rawValue.lowercased()
        sent = campaign.tally[.sent]
        total = campaign.tally.total
        percent = total == 0 ? 0 : sent * 100 / total
        nextSend = campaign.nextSendAt.map { Formats.dayAndTime($0, in: settings.timeZone) }
        timeZone = settings.timeZoneIdentifier
        isDeleted = campaign.deletedAt != nil
        attention = campaign.attention.map(AttentionRow.init)
        hasAttention = !attention.isEmpty
    }

    static func statusText(_ status: CampaignStatus) -> String {
        switch status {
        case .scheduled: "Scheduled"
        case .inProgress: "In progress"
        case .completed: "Completed"
        case .failed: "Some not sent"
        case .cancelled: "Deleted"
        }
    }
}

struct AttentionRow {
    let kind: String
    let message: String

    init(_ attention: Attention) {
        kind = attention.kind.rawValue
        message = attention.message
    }
}

/// One message on a campaign's page: what happened to it and why.
struct MessageRow {
    let id: String
    let localTime: String
    let content: String
    let status: String
    let statusClass: String
    let reason: String?
    let sentAt: String?
    let deliveredAt: String?
    let readAt: String?
    let attempts: [AttemptRow]
    let hasAttempts: Bool

    init(_ message: StoredMessage, zone: TimeZone) {
        id = message.publicId
        localTime = Formats.dayAndTime(message.scheduledAt, in: zone)
        content = message.content
        (status, statusClass) = MessageRow.state(message)
        reason = message.failedReason
        sentAt = message.sentAt.map { Formats.dayAndTime($0, in: zone) }
        deliveredAt = message.deliveredAt.map { Formats.dayAndTime($0, in: zone) }
        readAt = message.readAt.map { Formats.dayAndTime($0, in: zone) }
        attempts = AttemptRow.collapsed(message.attempts, zone: zone)
        hasAttempts = !attempts.isEmpty
    }

    /// Sent messages say how far they got: delivered, read.
    static func state(_ message: StoredMessage) -> (String, String) {
        switch message.status {
        case .sent where message.readAt != nil: ("Read", "read")
        case .sent where message.deliveredAt != nil: ("Delivered", "delivered")
        case .sent: ("Sent", "sent")
        case .pending: ("Scheduled", "pending")
        case .sending: ("Sending", "sending")
        case .failed: ("Failed", "failed")
        case .missed: ("Missed", "missed")
        case .cancelled: ("Cancelled", "cancelled")
        }
    }
}

/// One line of a message's audit trail; attempts that repeat one another (a session that stayed
/// down, checked again and again) are one line with a count, not two dozen identical ones.
struct AttemptRow {
    let at: String
    let outcome: String
    let reason: String?
    let repeats: Int?
    let until: String?

    static func collapsed(_ attempts: [AttemptLog], zone: TimeZone) -> [AttemptRow] {
        var rows: [AttemptRow] = []
        var index = attempts.startIndex
        while index < attempts.endIndex {
            let first = attempts[index]
            var last = index
            while last + 1 < attempts.endIndex, attempts[last + 1].outcome == first.outcome,
                attempts[last + 1].reason == first.reason
            {
                last += 1
            }
            let count = last - index + 1
            rows.append(
                AttemptRow(
                    at: Formats.dayAndTime(first.startedAt, in: zone), outcome: AttemptRow.words(first.outcome),
                    reason: first.reason, repeats: count > 1 ? count : nil,
                    until: count > 1 ? Formats.dayAndTime(attempts[last].startedAt, in: zone) : nil))
            index = last + 1
        }
        return rows
    }

    static func words(_ outcome: AttemptOutcome) -> String {
        switch outcome {
        case .sent: "sent"
        case .reconciled: "found already sent"
        case .retry: "will retry"
        case .ambiguous: "uncertain, will check"
        case .waiting: "waiting"
        case .failed: "failed"
        case .missed: "missed"
        case .leaseExpired: "interrupted, will check"
        }
    }
}

/// One message a campaign would send, as the live preview shows it.
struct PreviewRow {
    let number: Int
    let localTime: String
    let content: String

    init(_ message: PlannedMessage, zone: TimeZone) {
        number = message.occurrenceIndex + 1
        localTime = Formats.dayAndTime(message.scheduledAt, in: zone)
        content = message.content
    }
}

/// A choice in a `<select>` or a list of checkboxes.
struct Choice {
    let value: String
    let label: String
    let selected: Bool
}
