import Foundation

/// The zone names of the system's tz database: canonical zones and their backward-compatible aliases.
///
/// Foundation's `knownTimeZoneIdentifiers` leaves out links such as `Asia/Kolkata`'s peers, `US/Eastern`
/// or `EST5EDT`, so validation reads the database's own index (`tzdata.zi`, lines `Z name …` and
/// `L target alias`). Where the system has no such index, Foundation's list is the fallback.
public enum TimeZoneNames {
    /// Every name, loaded once.
    public static let all: Set<String> = load()

    /// Whether `name` is a zone of the tz database that this system can resolve (not an abbreviation
    /// such as `EAT`, nor a bare offset).
    public static func isKnown(_ name: String) -> Bool {
        guard name.utf8.count <= 64, all.contains(name) else { return false }
        return TimeZone(identifier: name) != nil
    }

    /// The names in `tzdata.zi` text.
    public static func names(inIndex text: String) -> Set<String> {
        var names: Set<String> = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.first == "Z", fields.count >= 2 { names.insert(String(fields[1])) }
            if fields.first == "L", fields.count >= 3 { names.insert(String(fields[2])) }
        }
        return names
    }

    private static func load() -> Set<String> {
        let directory = ProcessInfo.processInfo.environment["TZDIR"] ?? "/usr/share/zoneinfo"
        var names = Set(TimeZone.knownTimeZoneIdentifiers)
        names.insert("UTC")
        if let data = FileManager.default.contents(atPath: directory + "/tzdata.zi") {
            names.formUnion(self.names(inIndex: String(decoding: data, as: UTF8.self)))
        }
        return names
    }
}
