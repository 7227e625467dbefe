import CrierCore
import Foundation
import Testing

@Suite("Text and instants written without Foundation's formatters")
struct FastTextTests {
    @Test("replacingAll agrees with Foundation on placeholders, escapes, repeats and non-ASCII text", arguments: [
        ("{days_left} days left, {days_left}!", "{days_left}", "12"), ("no placeholder", "{days_left}", "3"),
        ("\\* bold \\*", "\\*", "*"), ("Ünïcødé {days_left} ✓ {days_", "{days_left}", "7"), ("", "{x}", "y"),
        ("{{days_left}}", "{days_left}", "0"), ("a\r\nb\r\n", "\r\n", "\n"),
    ])
    func replacing(_ text: String, _ target: String, _ replacement: String) {
        #expect(text.replacingAll(target, with: replacement) == text.replacingOccurrences(of: target, with: replacement))
    }

    @Test("trimmed(of:) agrees with Foundation's trimmingCharacters", arguments: [
        "", " ", "plain", " lead", "trail\n", "\t both \r\n", "in side", "\u{00A0}nbsp\u{2003}", "\u{0085}x",
        "\u{200B}zero-width", "é", "✓ \n ✓",
    ])
    func trimming(_ text: String) {
        for set in [CharacterSet.whitespaces, .whitespacesAndNewlines] {
            #expect(text.trimmed(of: set) == text.trimmingCharacters(in: set), "\(text.debugDescription)")
        }
    }

    @Test("isoUTC is formatted(.iso8601) to the second, before 1970 and after 2100 too")
    func instants() {
        var generator = SystemRandomNumberGenerator()
        let samples = [-86_400.5, -1, 0, 59.999, 1_893_488_400, 4_102_444_799.9] + (0..<500).map { _ in
            Double.random(in: -2_000_000_000...7_000_000_000, using: &generator)
        }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(date.isoUTC == date.formatted(.iso8601), "\(seconds)")
        }
    }
}
