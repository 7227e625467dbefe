import CrierCore
import CrierStorage
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

/// One message on a campaign's page: what happened to it and why.
struct MessageRow {
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
        localTime = Formats.dayAndTime(message.scheduledAt, in: zone)
        content = message.content
        (status, statusClass) = MessageRow.state(message)
        reason = message.failedReason
        sentAt = message.sentAt.map { Formats.dayAndTime($0, in: zone) }
        deliveredAt = message.deliveredAt.map { Formats.dayAndTime($0, in: zone) }
        readAt = message.readAt.map { Formats.dayAndTime($0, in: zone) }
        attempts = message.attempts.map { AttemptRow($0, zone: zone) }
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

struct AttemptRow {
    let at: String
    let outcome: String
    let reason: String?

    init(_ attempt: AttemptLog, zone: TimeZone) {
        at = Formats.dayAndTime(attempt.startedAt, in: zone)
        outcome = attempt.outcome.rawValue
        reason = attempt.reason
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
