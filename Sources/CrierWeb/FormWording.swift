import CrierCore
import Foundation

/// Validation errors in the words of the form, not the API's: "Message is required", never
/// "messageTemplate is required"; a time zone that is not one suggests the one that was meant. The
/// API keeps its own messages, which name its fields.
enum FormWording {
    /// The form's label of each API field.
    static let labels: [String: String] = [
        "groupId": "Chat", "groupName": "Chat name", "sessionId": "WhatsApp number", "audienceType": "Send to",
        "title": "Title", "targetAmount": "Target amount", "startDate": "Start date", "endDate": "End date",
        "messageTime": "Time of day", "timeZone": "Time zone", "messageTemplate": "Message",
        "isRecurring": "Recurring", "recurrence": "Repeats", "isFreeForm": "Free-form",
    ]

    /// `error`'s message for the form; `typed` is what the form holds for the field, for suggestions.
    static func message(_ error: CampaignValidationError, typed: String? = nil) -> String {
        switch (error.field, error.message) {
        case ("timeZone", "Invalid time zone"):
            let value = typed?.trimmingCharacters(in: .whitespaces) ?? ""
            if let guess = suggestZone(for: value) { return "“\(value)” is not a time zone name. Did you mean \(guess)?" }
            return "“\(value)” is not a time zone name: pick one from the list, such as Africa/Nairobi."
        case ("groupId", let message) where message.hasPrefix("For audienceType groups"):
            return "Choose a group, or type a group's id (it ends in @g.us)."
        case ("groupId", let message) where message.hasPrefix("For audienceType individuals"):
            return "Choose a contact, or type a phone number (or an id ending in @c.us)."
        case ("groupId", let message) where message.hasSuffix("is required"):
            return "Choose at least one chat, or type a chat's id."
        case ("sessionId", _) where error.message.contains("Session not found") || error.message.contains("is required"):
            return "Choose the WhatsApp number to send from."
        default:
            guard let label = labels[error.field] else { return error.message }
            var message = error.message.replacingOccurrences(of: error.field, with: label)
            if let first = message.first, first.isLowercase { message = first.uppercased() + message.dropFirst() }
            return message
        }
    }

    /// A zone whose city is what was typed ("Nairobi", "new york", "Calcutta"), when exactly one is.
    static func suggestZone(for typed: String) -> String? {
        let wanted = typed.lowercased().replacingOccurrences(of: " ", with: "_")
        guard wanted.count >= 3 else { return nil }
        let matches = TimeZoneNames.all.filter { zone in
            zone.split(separator: "/").last.map { $0.lowercased() == wanted } ?? false
        }
        if matches.count == 1 { return matches.first }
        let partial = TimeZoneNames.all.filter { $0.lowercased().contains(wanted) }
        return partial.count == 1 ? partial.first : nil
    }
}
