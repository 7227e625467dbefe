import Foundation

/// Checks campaign input field by field, in the API's field order, and reports the first problem.
public struct CampaignValidator: Sendable {
    public static let maxGroupNameLength = 256
    public static let maxTitleLength = 200
    public static let maxTargetAmountLength = 100
    public static let maxSpanYears = 5

    /// The zone used when the input names none (server configuration; `UTC` out of the box).
    public let defaultTimeZone: String

    public init(defaultTimeZone: String = "UTC") {
        self.defaultTimeZone = defaultTimeZone
    }

    public func validate(_ input: CampaignInput) throws(CampaignValidationError) -> CampaignSettings {
        let audienceType = try Self.enumValue(input.audienceType, field: "audienceType", default: AudienceType.groups)
        let groupId = try Self.chatId(input.groupId, audienceType: audienceType)
        let groupName = try Self.requiredText(input.groupName, field: "groupName", maxLength: Self.maxGroupNameLength)
        let sessionId = try Self.requiredText(input.sessionId, field: "sessionId", maxLength: 256)
        let title = try Self.optionalText(input.title, field: "title", maxLength: Self.maxTitleLength)
        let targetAmount = try Self.optionalText(
            input.targetAmount, field: "targetAmount", maxLength: Self.maxTargetAmountLength)
        let startDate = try Self.date(input.startDate, field: "startDate")
        let endDate = try Self.date(input.endDate, field: "endDate")
        guard endDate >= startDate else {
            throw CampaignValidationError(field: "endDate", message: "End date must be after start date")
        }
        guard endDate <= startDate.adding(months: 12 * Self.maxSpanYears, onDay: startDate.day) else {
            throw CampaignValidationError(
                field: "endDate", message: "A campaign may span at most \(Self.maxSpanYears) years")
        }
        guard let messageTimeText = input.messageTime else {
            throw CampaignValidationError(field: "messageTime", message: "messageTime is required")
        }
        guard let messageTime = LocalTime(text: messageTimeText) else {
            throw CampaignValidationError(field: "messageTime", message: "Invalid time format")
        }
        let timeZone = try Self.timeZone(input.timeZone, default: defaultTimeZone)
        guard let template = input.messageTemplate,
            !template.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else {
            throw CampaignValidationError(field: "messageTemplate", message: "messageTemplate is required")
        }
        guard let isRecurring = input.isRecurring else {
            throw CampaignValidationError(field: "isRecurring", message: "isRecurring is required")
        }
        let recurrence = try Self.enumValue(input.recurrence, field: "recurrence", default: Recurrence.daily)
        return CampaignSettings(
            groupId: groupId, groupName: groupName, sessionId: sessionId, title: title, targetAmount: targetAmount,
            schedule: Schedule(
                startDate: startDate, endDate: endDate, isRecurring: isRecurring, recurrence: recurrence),
            messageTime: messageTime, timeZoneIdentifier: timeZone, template: template,
            isFreeForm: input.isFreeForm ?? false, audienceType: audienceType)
    }

    /// Whether `identifier` names a zone of the IANA database (not an abbreviation or a bare offset).
    public static func isKnownTimeZone(_ identifier: String) -> Bool {
        guard TimeZone(identifier: identifier) != nil else { return false }
        return identifier == "UTC" || TimeZone.knownTimeZoneIdentifiers.contains(identifier)
    }

    private static func timeZone(_ value: String?, default fallback: String) throws(CampaignValidationError) -> String {
        guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else { return fallback }
        guard isKnownTimeZone(value) else {
            throw CampaignValidationError(field: "timeZone", message: "Invalid time zone")
        }
        return value
    }

    private static func chatId(_ value: String?, audienceType: AudienceType) throws(CampaignValidationError) -> String {
        let text = try requiredText(value, field: "groupId", maxLength: 256)
        switch audienceType {
        case .groups:
            guard text.hasSuffix("@g.us"), text.count > 5 else {
                throw CampaignValidationError(
                    field: "groupId", message: "For audienceType groups, groupId must be a group chat id ending in @g.us")
            }
            return text
        case .individuals:
            if (text.hasSuffix("@c.us") && text.count > 5) || (text.hasSuffix("@lid") && text.count > 4) {
                return text
            }
            if let phone = normalisedPhoneNumber(text) { return phone + "@c.us" }
            throw CampaignValidationError(
                field: "groupId",
                message: "For audienceType individuals, groupId must be a chat id ending in @c.us or @lid, or a phone number")
        }
    }

    /// Digits of a phone number written with an optional leading `+` and spaces or dashes.
    static func normalisedPhoneNumber(_ text: String) -> String? {
        var body = Substring(text)
        if body.first == "+" { body = body.dropFirst() }
        let digits = body.filter { $0 != " " && $0 != "-" }
        guard (6...15).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return String(digits)
    }

    private static func requiredText(
        _ value: String?, field: String, maxLength: Int
    ) throws(CampaignValidationError) -> String {
        guard let text = value?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            throw CampaignValidationError(field: field, message: "\(field) is required")
        }
        guard text.count <= maxLength else {
            throw CampaignValidationError(field: field, message: "\(field) must be at most \(maxLength) characters")
        }
        return text
    }

    private static func optionalText(
        _ value: String?, field: String, maxLength: Int
    ) throws(CampaignValidationError) -> String? {
        guard let text = value?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        guard text.count <= maxLength else {
            throw CampaignValidationError(field: field, message: "\(field) must be at most \(maxLength) characters")
        }
        return text
    }

    private static func date(_ value: String?, field: String) throws(CampaignValidationError) -> LocalDate {
        guard let value else { throw CampaignValidationError(field: field, message: "\(field) is required") }
        guard let date = LocalDate(iso: value) else {
            throw CampaignValidationError(field: field, message: "Invalid date format: use YYYY-MM-DD")
        }
        return date
    }

    private static func enumValue<Value: RawRepresentable & CaseIterable>(
        _ value: String?, field: String, default fallback: Value
    ) throws(CampaignValidationError) -> Value where Value.RawValue == String {
        guard let value else { return fallback }
        guard let parsed = Value(rawValue: value) else {
            let allowed = Value.allCases.map(\.rawValue).joined(separator: ", ")
            throw CampaignValidationError(field: field, message: "Invalid \(field): expected one of \(allowed)")
        }
        return parsed
    }
}
