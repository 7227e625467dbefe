import CrierCore
import Foundation
import Testing

@Suite("Schedule expansion")
struct ScheduleTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let start: String
        let end: String
        let recurring: Bool
        let recurrence: Recurrence
        let expected: [String]
        var testDescription: String { "\(recurring ? recurrence.rawValue : "countdown") \(start)…\(end)" }
    }

    static let rows: [Row] = [
        Row(start: "2026-03-01", end: "2026-03-04", recurring: false, recurrence: .weekly,
            expected: ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]),
        Row(start: "2026-03-01", end: "2026-03-01", recurring: false, recurrence: .daily, expected: ["2026-03-01"]),
        Row(start: "2028-02-27", end: "2028-03-01", recurring: true, recurrence: .daily,
            expected: ["2028-02-27", "2028-02-28", "2028-02-29", "2028-03-01"]),
        Row(start: "2026-01-01", end: "2026-01-29", recurring: true, recurrence: .weekly,
            expected: ["2026-01-01", "2026-01-08", "2026-01-15", "2026-01-22", "2026-01-29"]),
        Row(start: "2026-01-31", end: "2026-05-31", recurring: true, recurrence: .monthly,
            expected: ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]),
        Row(start: "2028-01-30", end: "2028-03-30", recurring: true, recurrence: .monthly,
            expected: ["2028-01-30", "2028-02-29", "2028-03-30"]),
        Row(start: "2026-01-10", end: "2026-03-09", recurring: true, recurrence: .semiMonthly,
            expected: ["2026-01-10", "2026-01-25", "2026-02-10", "2026-02-25"]),
        Row(start: "2026-01-20", end: "2026-03-05", recurring: true, recurrence: .semiMonthly,
            expected: ["2026-01-20", "2026-02-05", "2026-02-20", "2026-03-05"]),
        Row(start: "2026-01-31", end: "2026-03-31", recurring: true, recurrence: .semiMonthly,
            expected: ["2026-01-31", "2026-02-16", "2026-02-28", "2026-03-16", "2026-03-31"]),
        Row(start: "2026-01-15", end: "2026-03-01", recurring: true, recurrence: .semiMonthly,
            expected: ["2026-01-15", "2026-01-30", "2026-02-15", "2026-02-28"]),
        Row(start: "2026-08-31", end: "2028-03-01", recurring: true, recurrence: .semiAnnually,
            expected: ["2026-08-31", "2027-02-28", "2027-08-31", "2028-02-29"]),
        Row(start: "2028-02-29", end: "2032-03-01", recurring: true, recurrence: .annually,
            expected: ["2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"]),
        Row(start: "2026-05-10", end: "2026-05-09", recurring: true, recurrence: .daily, expected: []),
    ]

    @Test("occurrence dates", arguments: rows)
    func occurrences(_ row: Row) {
        let schedule = Schedule(
            startDate: LocalDate(iso: row.start)!, endDate: LocalDate(iso: row.end)!,
            isRecurring: row.recurring, recurrence: row.recurrence)
        #expect(schedule.occurrences().map(\.description) == row.expected)
    }

    @Test("a daily countdown over five years stays under the message limit")
    func fiveYearsDaily() {
        let schedule = Schedule(
            startDate: LocalDate(iso: "2026-01-01")!, endDate: LocalDate(iso: "2031-01-01")!,
            isRecurring: false, recurrence: .daily)
        #expect(schedule.occurrences().count == 1827)
    }
}

@Suite("Calendar dates")
struct LocalDateTests {
    @Test("parses only real YYYY-MM-DD dates",
          arguments: ["2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "2026-04-31", "2026-01-01T00:00", "", "２０２６-01-01"])
    func rejects(_ text: String) {
        #expect(LocalDate(iso: text) == nil)
    }

    @Test("round-trips day numbers", arguments: ["1970-01-01", "2000-02-29", "2028-12-31", "1969-12-31", "2100-03-01"])
    func roundTrip(_ text: String) {
        let date = LocalDate(iso: text)!
        #expect(LocalDate(dayNumber: date.dayNumber) == date)
        #expect(date.description == text)
    }

    @Test func dayNumberOfKnownDates() {
        #expect(LocalDate(iso: "1970-01-01")!.dayNumber == 0)
        #expect(LocalDate(iso: "2026-11-25")!.dayNumber == 20782)
    }
}

@Suite("Time of day")
struct LocalTimeTests {
    @Test("accepts H:mm and HH:mm", arguments: [("9:05", "09:05"), ("09:05", "09:05"), ("0:00", "00:00"), ("23:59", "23:59")])
    func accepts(_ text: String, _ normalised: String) {
        #expect(LocalTime(text: text)?.description == normalised)
    }

    @Test("rejects anything else", arguments: ["24:00", "12:60", "9:5", "123:00", "09:00:00", "nine", "", " 9:00", "-1:00", "+9:00"])
    func rejects(_ text: String) {
        #expect(LocalTime(text: text) == nil)
    }
}

@Suite("Date arithmetic at the calendar's edge")
struct DateEdgeTests {
    // A MONTHLY schedule reaching December 9999 used to trap on a force-unwrapped year-10000 date.
    @Test("expanding a schedule that reaches December 9999 does not trap", arguments: Recurrence.allCases)
    func yearTenThousand(_ recurrence: Recurrence) throws {
        let start = try #require(LocalDate(iso: "9999-06-30"))
        let end = try #require(LocalDate(iso: "9999-12-31"))
        let dates = Schedule(startDate: start, endDate: end, isRecurring: true, recurrence: recurrence).occurrences()
        #expect(dates.first == start)
        #expect(dates.allSatisfy { $0 <= end })
    }

    @Test("adding months past year 9999 gives a clamped date instead of trapping")
    func pastTenThousand() throws {
        let date = try #require(LocalDate(iso: "9999-12-31")).adding(months: 2, onDay: 31)
        #expect((date.year, date.month, date.day) == (10_000, 2, 29))
    }
}

@Suite("Time zone names")
struct TimeZoneNameTests {
    @Test("every zone name of the system's tz database is accepted, aliases included")
    func everyZone() throws {
        let index = FileManager.default.contents(atPath: "/usr/share/zoneinfo/tzdata.zi")
        guard let index else {
            print("skipped: /usr/share/zoneinfo/tzdata.zi is absent (install tzdata)")
            return
        }
        let names = TimeZoneNames.names(inIndex: String(decoding: index, as: UTF8.self))
        #expect(names.count > 500)
        for name in ["Asia/Kolkata", "Asia/Calcutta", "US/Eastern", "Etc/GMT-14", "EST5EDT", "Africa/Nairobi"] {
            #expect(names.contains(name), "\(name) is in tzdata.zi")
        }
        let rejected = names.sorted().filter { !CampaignValidator.isKnownTimeZone($0) }
        #expect(rejected == [])
    }

    @Test("abbreviations, offsets and made-up names are not zones", arguments: ["EAT", "GMT+3", "Mars/Olympus", "", "utc"])
    func notZones(_ name: String) {
        #expect(!CampaignValidator.isKnownTimeZone(name))
    }
}
