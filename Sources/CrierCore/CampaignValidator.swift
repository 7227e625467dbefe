import Foundation

/// Checks campaign input field by field, in the API's field order, and reports the first problem.
public struct CampaignValidator: Sendable {
    public static let maxGroupNameLength = 256
    public static let maxTitleLength = 200
    public static let maxTargetAmountLength = 100
    public static let maxSpanYears = 5
    public static let maxChatIdLength = 256
    public static let maxSessionIdLength = 256
    /// DESIGN §3: dates are years 1970–2199.
    public static let years = 1970...2199
    /// The placeholders a template may use.
    public static let placeholders = ["days_left"]

    /// The zone used when the input names none (server configuration; `UTC` out of the box).
    public let defaultTimeZone: String

    public init(defaultTimeZone: String = "UTC") {
        self.defaultTimeZone = defaultTimeZone
    }

    public func validate(_ input: CampaignInput) throws(CampaignValidationError) -> CampaignSettings {
        let audienceType = try Self.enumValue(input.audienceType, field: "audienceType", default: AudienceType.groups)
        let groupId = try Self.chatId(input.groupId, audienceType: audienceType)
        let groupName = try Self.requiredText(input.groupName, field: "groupName", maxLength: Self.maxGroupNameLength)
        let sessionId = try Self.requiredText(input.sessionId, field: "sessionId", maxLength: Self.maxSessionIdLength)
        let title = try Self.optionalText(input.title, field: "title", maxLength: Self.maxTitleLength)
        let targetAmount = try Self.optionalText(
            input.targetAmount, field: "targetAmount", maxLength: Self.maxTargetAmountLength)
        let startDate = try Self.date(input.startDate, field: "startDate")
        let endDate = try Self.date(input.endDate, field: "endDate")
        guard endDate >= startDate else {
            // The seed's exact words; a one-day campaign (equal dates) is allowed.
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
        let template = try Self.template(input.messageTemplate)
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

    /// Whether `identifier` names a zone of the IANA database, canonical or alias (not an abbreviation
    /// or a bare offset).
    public static func isKnownTimeZone(_ identifier: String) -> Bool { TimeZoneNames.isKnown(identifier) }

    /// The template with CRLF line ends read as LF (what a browser's text box sends), checked for
    /// control characters and unknown `{placeholders}`.
    private static func template(_ value: String?) throws(CampaignValidationError) -> String {
        let field = "messageTemplate"
        guard let raw = value, !raw.trimmed(of: .whitespacesAndNewlines).isEmpty else {
            throw CampaignValidationError(field: field, message: "messageTemplate is required")
        }
        let template = raw.replacingAll("\r\n", with: "\n")
        try TextRules.checkControlCharacters(template, field: field, allowsLineBreaks: true)
        if let unknown = unknownPlaceholder(in: template) {
            let known = placeholders.map { "{\($0)}" }.joined(separator: ", ")
            throw CampaignValidationError(
                field: field, message: "Unknown placeholder {\(unknown)}: the known placeholders are \(known)")
        }
        return template
    }

    /// The first `{name}` (letters, digits, `_`) that is not a known placeholder.
    static func unknownPlaceholder(in template: String) -> String? {
        var name: String?
        for character in template {
            if character == "{" {
                name = ""
            } else if character == "}" {
                if let found = name, !found.isEmpty, !placeholders.contains(found) { return found }
                name = nil
            } else if name != nil {
                if character.isASCII && (character.isLetter || character.isNumber || character == "_") {
                    name?.append(character)
                } else {
                    name = nil
                }
            }
        }
        return nil
    }

    private static func timeZone(_ value: String?, default fallback: String) throws(CampaignValidationError) -> String {
        guard let value, !value.trimmed(of: .whitespaces).isEmpty else { return fallback }
        try TextRules.checkControlCharacters(value, field: "timeZone")
        guard isKnownTimeZone(value) else {
            throw CampaignValidationError(field: "timeZone", message: "Invalid time zone")
        }
        return value
    }

    private static func chatId(_ value: String?, audienceType: AudienceType) throws(CampaignValidationError) -> String {
        let text = try requiredText(value, field: "groupId", maxLength: maxChatIdLength)
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
        guard let text = value?.trimmed(of: .whitespacesAndNewlines), !text.isEmpty else {
            throw CampaignValidationError(field: field, message: "\(field) is required")
        }
        try TextRules.check(text, field: field, maxCharacters: maxLength)
        return text
    }

    private static func optionalText(
        _ value: String?, field: String, maxLength: Int
    ) throws(CampaignValidationError) -> String? {
        guard let text = value?.trimmed(of: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        try TextRules.check(text, field: field, maxCharacters: maxLength)
        return text
    }

    private static func date(_ value: String?, field: String) throws(CampaignValidationError) -> LocalDate {
        guard let value else { throw CampaignValidationError(field: field, message: "\(field) is required") }
        guard let (year, month, day) = LocalDate.isoFields(value) else {
            throw CampaignValidationError(field: field, message: "Invalid date format: use YYYY-MM-DD")
        }
        guard years.contains(year) else {
            throw CampaignValidationError(
                field: field, message: "\(field) must be in the years \(years.lowerBound) to \(years.upperBound)")
        }
        guard let date = LocalDate(year: year, month: month, day: day) else {
            throw CampaignValidationError(field: field, message: "Invalid date: \(value) does not exist")
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
