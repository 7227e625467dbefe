import CrierCore
import Foundation

/// How the dashboard writes dates and times: in the campaign's own zone, the same way everywhere.
enum Formats {
    /// "Tue 1 Dec 2026, 09:30".
    static func dayAndTime(_ date: Date, in zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "EEE d MMM yyyy, HH:mm"
        return formatter.string(from: date)
    }

    /// "Tue 1 Dec 2026".
    static func day(_ date: LocalDate) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .gmt
        formatter.dateFormat = "EEE d MMM yyyy"
        guard let instant = ISO8601DateFormatter().date(from: date.description + "T12:00:00Z") else {
            return date.description
        }
        return formatter.string(from: instant)
    }

    /// A recurrence as people say it.
    static func recurrence(_ recurrence: Recurrence) -> String {
        switch recurrence {
        case .daily: "Every day"
        case .weekly: "Every week"
        case .semiMonthly: "Twice a month"
        case .monthly: "Every month"
        case .semiAnnually: "Every six months"
        case .annually: "Every year"
        }
    }
}
