import Foundation

/// A campaign as the API received it: every field optional and unchecked.
///
/// Field names are the API's. The HTTP layer fills this from JSON (rejecting wrong types and unknown
/// keys); `CampaignValidator` turns it into `CampaignSettings` or a `CampaignValidationError`.
public struct CampaignInput: Hashable, Sendable {
    public var groupId: String?
    public var groupName: String?
    public var sessionId: String?
    public var title: String?
    public var targetAmount: String?
    public var startDate: String?
    public var endDate: String?
    public var messageTime: String?
    public var timeZone: String?
    public var messageTemplate: String?
    public var isFreeForm: Bool?
    public var isRecurring: Bool?
    public var recurrence: String?
    public var audienceType: String?

    public init(
        groupId: String? = nil, groupName: String? = nil, sessionId: String? = nil, title: String? = nil,
        targetAmount: String? = nil, startDate: String? = nil, endDate: String? = nil, messageTime: String? = nil,
        timeZone: String? = nil, messageTemplate: String? = nil, isFreeForm: Bool? = nil, isRecurring: Bool? = nil,
        recurrence: String? = nil, audienceType: String? = nil
    ) {
        self.groupId = groupId
        self.groupName = groupName
        self.sessionId = sessionId
        self.title = title
        self.targetAmount = targetAmount
        self.startDate = startDate
        self.endDate = endDate
        self.messageTime = messageTime
        self.timeZone = timeZone
        self.messageTemplate = messageTemplate
        self.isFreeForm = isFreeForm
        self.isRecurring = isRecurring
        self.recurrence = recurrence
        self.audienceType = audienceType
    }
}

/// Bad campaign input: which API field, and a message a person can act on.
public struct CampaignValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// A campaign whose every field has passed the rules of DESIGN §3.
public struct CampaignSettings: Hashable, Sendable {
    public var groupId: String
    public var groupName: String
    public var sessionId: String
    public var title: String?
    public var targetAmount: String?
    public var schedule: Schedule
    public var messageTime: LocalTime
    public var timeZoneIdentifier: String
    public var template: String
    public var isFreeForm: Bool
    public var audienceType: AudienceType

    public init(
        groupId: String, groupName: String, sessionId: String, title: String?, targetAmount: String?,
        schedule: Schedule, messageTime: LocalTime, timeZoneIdentifier: String, template: String,
        isFreeForm: Bool, audienceType: AudienceType
    ) {
        self.groupId = groupId
        self.groupName = groupName
        self.sessionId = sessionId
        self.title = title
        self.targetAmount = targetAmount
        self.schedule = schedule
        self.messageTime = messageTime
        self.timeZoneIdentifier = timeZoneIdentifier
        self.template = template
        self.isFreeForm = isFreeForm
        self.audienceType = audienceType
    }

    /// The zone the identifier names; validation guarantees it exists (UTC should it ever not).
    public var timeZone: TimeZone { TimeZone(identifier: timeZoneIdentifier) ?? .gmt }
}
