import Foundation

/// Turns a local date and wall-clock time in an IANA zone into the instant a message is sent.
///
/// A local time that does not exist (spring-forward gap) is read with the offset in force before the
/// gap, so 02:30 becomes 03:30; a local time that happens twice (fall-back) is the first of the two.
public enum SendInstant {
    public static func instant(on date: LocalDate, at time: LocalTime, in zone: TimeZone) -> Date {
        let wall = TimeInterval(date.dayNumber * 86_400 + time.secondsIntoDay)
        // Offsets a day either side bracket any single transition on this date.
        let offsetBefore = TimeInterval(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall - 86_400)))
        let offsetAfter = TimeInterval(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall + 86_400)))
        let candidates = [wall - offsetBefore, wall - offsetAfter].filter { instant in
            TimeInterval(zone.secondsFromGMT(for: Date(timeIntervalSince1970: instant))) == wall - instant
        }
        if let earliest = candidates.min() {
            return Date(timeIntervalSince1970: earliest)
        }
        return Date(timeIntervalSince1970: wall - offsetBefore)
    }
}
