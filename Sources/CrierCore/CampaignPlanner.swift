import Foundation

/// One message a campaign will send: what, when, and for which occurrence.
public struct PlannedMessage: Hashable, Sendable {
    /// 0-based position of the occurrence among all occurrences from the start date.
    public let occurrenceIndex: Int
    public let occurrenceDate: LocalDate
    public let scheduledAt: Date
    public let daysLeft: Int
    public let content: String

    public init(occurrenceIndex: Int, occurrenceDate: LocalDate, scheduledAt: Date, daysLeft: Int, content: String) {
        self.occurrenceIndex = occurrenceIndex
        self.occurrenceDate = occurrenceDate
        self.scheduledAt = scheduledAt
        self.daysLeft = daysLeft
        self.content = content
    }
}

/// Expands validated settings into the exact messages to store, skipping send times already past.
public enum CampaignPlanner {
    public static let maxMessages = 2000
    public static let maxMessageLength = 4096
    /// What one campaign's messages may hold in all (UTF-8 bytes), so one request's storage is bounded.
    public static let maxTotalContentBytes = 2 * 1024 * 1024

    public static func plan(_ settings: CampaignSettings, now: Date) throws(CampaignValidationError) -> [PlannedMessage] {
        let schedule = settings.schedule
        let occurrences = schedule.occurrences()
        guard occurrences.count <= maxMessages else {
            throw CampaignValidationError(
                field: "endDate",
                message: "This schedule yields \(occurrences.count) messages; a campaign may have at most \(maxMessages)")
        }
        let template = MessageTemplate(settings.template, isRecurring: schedule.isRecurring)
        if case .sequence(let parts) = template.body, parts.count != occurrences.count {
            throw CampaignValidationError(
                field: "messageTemplate",
                message: "For the selected date range and \(schedule.recurrence.rawValue.lowercased()) recurrence, "
                    + "you need exactly \(occurrences.count) unique message(s) separated by asterisks (*). "
                    + "Or remove the asterisks to use the same message for all occurrences.")
        }
        let zone = settings.timeZone
        let header = header(settings)
        var messages: [PlannedMessage] = []
        var totalBytes = 0
        for (index, date) in occurrences.enumerated() {
            let scheduledAt = SendInstant.instant(on: date, at: settings.messageTime, in: zone)
            let daysLeft = date.days(until: schedule.endDate)
            let text = template.text(forOccurrence: index, daysLeft: daysLeft)
            let content = header.map { "\($0)Days Remaining: \(daysLeft)\n\n\(text)" } ?? text
            let bytes = content.utf8.count
            // Counting characters walks the text; a text with no more bytes than the limit cannot be over it.
            guard bytes <= maxMessageLength || (bytes <= maxMessageLength * TextRules.maxBytesPerCharacter
                && content.count <= maxMessageLength)
            else {
                throw CampaignValidationError(
                    field: "messageTemplate",
                    message: "The message for \(date) is longer than the maximum of \(maxMessageLength) characters")
            }
            totalBytes += bytes
            guard totalBytes <= maxTotalContentBytes else {
                throw CampaignValidationError(
                    field: "messageTemplate",
                    message: "This campaign's \(occurrences.count) messages would hold more than "
                        + "\(maxTotalContentBytes / 1024 / 1024) MB of text; shorten the template or the date range")
            }
            if scheduledAt >= now {
                messages.append(
                    PlannedMessage(
                        occurrenceIndex: index, occurrenceDate: date, scheduledAt: scheduledAt, daysLeft: daysLeft,
                        content: content))
            }
        }
        guard !messages.isEmpty else {
            throw CampaignValidationError(field: "endDate", message: "Campaign has no send times in the future")
        }
        return messages
    }

    /// The metadata header's lines before "Days Remaining" (each ending in a newline), the same for
    /// every message of the campaign; `nil` for a free-form campaign, whose messages are the text alone.
    /// A message is the header, "Days Remaining: N", a blank line, then the text.
    static func header(_ settings: CampaignSettings) -> String? {
        guard !settings.isFreeForm else { return nil }
        var lines: [String] = []
        if let title = settings.title { lines.append("Campaign Title: \(title)") }
        lines.append("Campaign Start Date: \(settings.schedule.startDate)")
        lines.append("Campaign End Date: \(settings.schedule.endDate)")
        if let target = settings.targetAmount { lines.append("Contribution Target Amount: \(target)") }
        return lines.map { $0 + "\n" }.joined()
    }
}
