import CrierCore
import CrierGateway
import Foundation

/// The new/edit campaign form as typed: read from a post, turned into the API's `CampaignInput`s
/// (one per chosen chat), and given back to the page when something is refused. Field names are
/// the API's.
struct CampaignForm {
    var sessionId = ""
    var audienceType = AudienceType.groups.rawValue
    /// Every chosen chat: ticked in the list, or typed.
    var groupIds: [String] = []
    var groupName = ""
    var title = ""
    var targetAmount = ""
    var startDate = ""
    var endDate = ""
    var messageTime = ""
    var timeZone = ""
    var messageTemplate = ""
    var isFreeForm = false
    var isRecurring = false
    var recurrence = Recurrence.daily.rawValue

    init() {}

    init(_ form: WebForm) {
        sessionId = form.text("sessionId") ?? ""
        audienceType = form.text("audienceType") ?? AudienceType.groups.rawValue
        groupIds = Array(NSOrderedSet(array: form.all("groupId")).compactMap { $0 as? String })
        groupName = form["groupName"] ?? ""
        title = form["title"] ?? ""
        targetAmount = form["targetAmount"] ?? ""
        startDate = form["startDate"] ?? ""
        endDate = form["endDate"] ?? ""
        messageTime = form["messageTime"] ?? ""
        timeZone = form["timeZone"] ?? ""
        messageTemplate = form["messageTemplate"] ?? ""
        isFreeForm = form.isChecked("isFreeForm")
        isRecurring = form.isChecked("isRecurring")
        recurrence = form.text("recurrence") ?? Recurrence.daily.rawValue
    }

    /// The form of a stored campaign, for editing.
    init(_ campaign: StoredCampaign) {
        let settings = campaign.settings
        sessionId = campaign.session.id
        audienceType = settings.audienceType.rawValue
        groupIds = [settings.groupId]
        groupName = settings.groupName
        title = settings.title ?? ""
        targetAmount = settings.targetAmount ?? ""
        startDate = settings.schedule.startDate.description
        endDate = settings.schedule.endDate.description
        messageTime = settings.messageTime.description
        timeZone = settings.timeZoneIdentifier
        messageTemplate = settings.template
        isFreeForm = settings.isFreeForm
        isRecurring = settings.schedule.isRecurring
        recurrence = settings.schedule.recurrence.rawValue
    }

    /// One input per chosen chat, named from the gateway's list where it has the chat (else from
    /// `groupName`, else the id); a single input without a chat when none is chosen, so the
    /// validator names `groupId`.
    func inputs(chatNames: [String: String]) -> [CampaignInput] {
        let chats: [String?] = groupIds.isEmpty ? [nil] : groupIds
        return chats.map { groupId in
            let name = groupId.flatMap { chatNames[$0] } ?? (groupName.isEmpty || groupIds.count > 1 ? groupId : groupName)
            return CampaignInput(
                groupId: groupId, groupName: name, sessionId: Self.nonEmpty(sessionId), title: Self.nonEmpty(title),
                targetAmount: Self.nonEmpty(targetAmount), startDate: Self.nonEmpty(startDate),
                endDate: Self.nonEmpty(endDate), messageTime: Self.nonEmpty(messageTime),
                timeZone: Self.nonEmpty(timeZone), messageTemplate: Self.nonEmpty(messageTemplate),
                isFreeForm: isFreeForm, isRecurring: isRecurring,
                recurrence: isRecurring ? Self.nonEmpty(recurrence) : nil, audienceType: Self.nonEmpty(audienceType))
        }
    }

    /// What the form holds for an API field, for error messages that quote it.
    func typed(_ field: String) -> String? {
        switch field {
        case "timeZone": timeZone
        case "messageTime": messageTime
        case "startDate": startDate
        case "endDate": endDate
        default: nil
        }
    }

    private static func nonEmpty(_ value: String) -> String? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : value
    }

    /// The values the form template reads.
    func values(chats: [ChatSummary], zones: [String]) -> [String: Any] {
        let listed = Set(chats.map(\.id))
        return [
            "sessionId": sessionId, "audienceType": audienceType, "groupName": groupName, "title": title,
            "targetAmount": targetAmount, "startDate": startDate, "endDate": endDate, "messageTime": messageTime,
            "timeZone": timeZone, "messageTemplate": messageTemplate, "isFreeForm": isFreeForm,
            "isRecurring": isRecurring,
            "typedGroupId": groupIds.first { !listed.contains($0) } ?? "",
            "chats": chats.map { chat in
                ChatChoice(id: chat.id, name: chat.name ?? chat.id, checked: groupIds.contains(chat.id))
            },
            "hasChats": !chats.isEmpty,
            "recurrences": Recurrence.allCases.map {
                Choice(value: $0.rawValue, label: Formats.recurrence($0), selected: $0.rawValue == recurrence)
            },
            "zones": zones,
            "isGroups": audienceType != AudienceType.individuals.rawValue,
        ]
    }
}

struct ChatChoice {
    let id: String
    let name: String
    let checked: Bool
}
