import Foundation

/// A correction of a running campaign's messages not yet sent (DESIGN §11): a wrong paybill number
/// is fixed for the remaining days without deleting the campaign. `nil` keeps a field as it is;
/// for `title` and `targetAmount`, a blank value removes it.
public struct UpcomingCorrection: Hashable, Sendable {
    public var messageTemplate: String?
    public var title: String?
    public var targetAmount: String?
    public var isFreeForm: Bool?

    public init(messageTemplate: String? = nil, title: String? = nil, targetAmount: String? = nil, isFreeForm: Bool? = nil) {
        self.messageTemplate = messageTemplate
        self.title = title
        self.targetAmount = targetAmount
        self.isFreeForm = isFreeForm
    }

    /// The input that gives `settings` corrected: everything else as it was.
    public func input(correcting settings: CampaignSettings) -> CampaignInput {
        CampaignInput(
            groupId: settings.groupId, groupName: settings.groupName, sessionId: settings.sessionId,
            title: title ?? settings.title ?? "", targetAmount: targetAmount ?? settings.targetAmount ?? "",
            startDate: settings.schedule.startDate.description, endDate: settings.schedule.endDate.description,
            messageTime: settings.messageTime.description, timeZone: settings.timeZoneIdentifier,
            messageTemplate: messageTemplate ?? settings.template, isFreeForm: isFreeForm ?? settings.isFreeForm,
            isRecurring: settings.schedule.isRecurring, recurrence: settings.schedule.recurrence.rawValue,
            audienceType: settings.audienceType.rawValue)
    }
}

extension CampaignPlanner {
    /// The texts of the upcoming messages of `settings`, in their order: same occurrences (and so
    /// the same days left and times). A sequence's parts go to the upcoming messages in order, so it
    /// needs exactly as many parts as there are messages still to send.
    public static func upcomingTexts(
        _ settings: CampaignSettings, occurrences upcoming: [(index: Int, date: LocalDate)]
    ) throws(CampaignValidationError) -> [String] {
        let template = MessageTemplate(settings.template, isRecurring: settings.schedule.isRecurring)
        if case .sequence(let parts) = template.body, parts.count != upcoming.count {
            throw CampaignValidationError(
                field: "messageTemplate",
                message: "For the \(upcoming.count) message(s) still to send, you need exactly \(upcoming.count) "
                    + "unique message(s) separated by asterisks (*). Or remove the asterisks to use the same message for all.")
        }
        let header = header(settings)
        return try upcoming.enumerated().map { (position, occurrence) throws(CampaignValidationError) -> String in
            let daysLeft = occurrence.date.days(until: settings.schedule.endDate)
            let text = template.text(forOccurrence: template.isSequence ? position : occurrence.index, daysLeft: daysLeft)
            let content = header.map { "\($0)Days Remaining: \(daysLeft)\n\n\(text)" } ?? text
            guard content.count <= maxMessageLength else {
                throw CampaignValidationError(
                    field: "messageTemplate",
                    message: "The message for \(occurrence.date) is longer than the maximum of \(maxMessageLength) characters")
            }
            return content
        }
    }
}
