import CrierCore
import CrierTestSupport
import Foundation
import Testing

@Suite("Local send time to UTC instant")
struct SendInstantTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let zone: String
        let date: String
        let time: String
        let utc: String
        let why: String
        var testDescription: String { "\(zone) \(date) \(time): \(why)" }
    }

    static let rows: [Row] = [
        Row(zone: "UTC", date: "2026-03-08", time: "09:30", utc: "2026-03-08T09:30:00Z", why: "UTC"),
        Row(zone: "America/Chicago", date: "2026-03-07", time: "09:30", utc: "2026-03-07T15:30:00Z", why: "CST"),
        Row(zone: "America/Chicago", date: "2026-03-08", time: "09:30", utc: "2026-03-08T14:30:00Z", why: "spring-forward day, after"),
        Row(zone: "America/Chicago", date: "2026-03-08", time: "01:59", utc: "2026-03-08T07:59:00Z", why: "spring-forward day, before"),
        Row(zone: "America/Chicago", date: "2026-03-08", time: "02:30", utc: "2026-03-08T08:30:00Z", why: "gap: 02:30 → 03:30 CDT"),
        Row(zone: "America/Chicago", date: "2026-03-08", time: "02:00", utc: "2026-03-08T08:00:00Z", why: "gap start → 03:00 CDT"),
        Row(zone: "America/Chicago", date: "2026-11-01", time: "01:30", utc: "2026-11-01T06:30:00Z", why: "fall-back overlap: first"),
        Row(zone: "America/Chicago", date: "2026-11-01", time: "02:00", utc: "2026-11-01T08:00:00Z", why: "fall-back day, after"),
        Row(zone: "America/Chicago", date: "2026-11-01", time: "00:59", utc: "2026-11-01T05:59:00Z", why: "fall-back day, before"),
        Row(zone: "Europe/London", date: "2026-01-15", time: "09:00", utc: "2026-01-15T09:00:00Z", why: "GMT"),
        Row(zone: "Europe/London", date: "2026-07-01", time: "09:00", utc: "2026-07-01T08:00:00Z", why: "BST"),
        Row(zone: "Europe/London", date: "2026-03-29", time: "01:30", utc: "2026-03-29T01:30:00Z", why: "gap: 01:30 → 02:30 BST"),
        Row(zone: "Europe/London", date: "2026-10-25", time: "01:30", utc: "2026-10-25T00:30:00Z", why: "overlap: first (BST)"),
        Row(zone: "Australia/Lord_Howe", date: "2026-01-15", time: "09:00", utc: "2026-01-14T22:00:00Z", why: "+11 summer"),
        Row(zone: "Australia/Lord_Howe", date: "2026-07-15", time: "09:00", utc: "2026-07-14T22:30:00Z", why: "+10:30 winter"),
        Row(zone: "Australia/Lord_Howe", date: "2026-10-04", time: "02:15", utc: "2026-10-03T15:45:00Z", why: "30-minute gap"),
        Row(zone: "Australia/Lord_Howe", date: "2026-04-05", time: "01:45", utc: "2026-04-04T14:45:00Z", why: "30-minute overlap: first"),
        Row(zone: "Asia/Kathmandu", date: "2026-06-01", time: "09:00", utc: "2026-06-01T03:15:00Z", why: "+05:45"),
        Row(zone: "Asia/Kathmandu", date: "2026-01-01", time: "00:00", utc: "2025-12-31T18:15:00Z", why: "midnight crosses the UTC date"),
        Row(zone: "Pacific/Apia", date: "2026-01-10", time: "09:00", utc: "2026-01-09T20:00:00Z", why: "+13"),
        Row(zone: "Pacific/Apia", date: "2011-12-29", time: "09:00", utc: "2011-12-29T19:00:00Z", why: "-10 before the date-line move"),
        Row(zone: "Pacific/Apia", date: "2011-12-30", time: "09:00", utc: "2011-12-30T19:00:00Z", why: "the skipped day: offset before the gap"),
        Row(zone: "Pacific/Apia", date: "2011-12-31", time: "09:00", utc: "2011-12-30T19:00:00Z", why: "+14 after the move"),
        Row(zone: "Pacific/Kiritimati", date: "2026-05-01", time: "23:59", utc: "2026-05-01T09:59:00Z", why: "+14"),
    ]

    @Test("instant", arguments: rows)
    func instant(_ row: Row) throws {
        let zone = try #require(TimeZone(identifier: row.zone))
        let instant = SendInstant.instant(on: LocalDate(iso: row.date)!, at: LocalTime(text: row.time)!, in: zone)
        #expect(instant.iso == row.utc)
    }
}
