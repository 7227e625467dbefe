/// The occurrence dates of a campaign: a pure value, expanded from its start date so there is no drift.
///
/// A day the month lacks (the 31st, Feb 29/30) becomes that month's last day, each occurrence being
/// computed from the start date: Jan 31 → Feb 28 → Mar 31.
public struct Schedule: Hashable, Sendable {
    public let startDate: LocalDate
    public let endDate: LocalDate
    public let isRecurring: Bool
    public let recurrence: Recurrence

    public init(startDate: LocalDate, endDate: LocalDate, isRecurring: Bool, recurrence: Recurrence) {
        self.startDate = startDate
        self.endDate = endDate
        self.isRecurring = isRecurring
        self.recurrence = recurrence
    }

    /// Every occurrence date in [startDate, endDate], in order.
    public func occurrences() -> [LocalDate] {
        guard startDate <= endDate else { return [] }
        guard isRecurring else { return everyDay(step: 1) }
        let day = startDate.day
        switch recurrence {
        case .daily: return everyDay(step: 1)
        case .weekly: return everyDay(step: 7)
        case .monthly: return monthly(every: 1, onDays: [day])
        case .semiAnnually: return monthly(every: 6, onDays: [day])
        case .annually: return monthly(every: 12, onDays: [day])
        case .semiMonthly:
            let first = day <= 15 ? day : day - 15
            return monthly(every: 1, onDays: [first, first + 15])
        }
    }

    private func everyDay(step: Int) -> [LocalDate] {
        stride(from: startDate.dayNumber, through: endDate.dayNumber, by: step).map(LocalDate.init(dayNumber:))
    }

    private func monthly(every months: Int, onDays days: [Int]) -> [LocalDate] {
        var dates: [LocalDate] = []
        var offset = 0
        while true {
            let monthStart = startDate.adding(months: offset, onDay: 1)
            if monthStart > endDate { break }
            for day in days {
                let date = startDate.adding(months: offset, onDay: day)
                if date >= startDate && date <= endDate { dates.append(date) }
            }
            offset += months
        }
        return dates
    }
}
