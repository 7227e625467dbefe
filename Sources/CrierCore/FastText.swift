import Foundation

extension String {
    /// `self` with every occurrence of `target` replaced, compared byte for byte (UTF-8).
    ///
    /// Written in Swift because it runs for every planned message, where Foundation's
    /// `replacingOccurrences` bridges through NSString and dominated planning a long campaign.
    public func replacingAll(_ target: String, with replacement: String) -> String {
        let needle = Array(target.utf8)
        guard let first = needle.first, utf8.contains(first) else { return self }
        let bytes = Array(utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == first, index + needle.count <= bytes.count,
                bytes[index..<(index + needle.count)].elementsEqual(needle)
            {
                result.append(contentsOf: replacement.utf8)
                index += needle.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}

extension Date {
    /// The instant in UTC to the second, as `2030-03-01T09:30:00Z` (what `formatted(.iso8601)` gives,
    /// without building a formatter each time: the API writes one per message).
    public var isoUTC: String {
        let seconds = Int((timeIntervalSince1970).rounded(.down))
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (dayNumber, second) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
        return LocalDate(dayNumber: dayNumber).description
            + "T\(pad(second / 3600)):\(pad(second / 60 % 60)):\(pad(second % 60))Z"
    }
}

extension String {
    /// `trimmingCharacters(in:)`, without its copy through NSString when neither end is in `set` —
    /// the usual case, and the validator trims every text field of every create.
    public func trimmed(of set: CharacterSet) -> String {
        guard let first = unicodeScalars.first, let last = unicodeScalars.last else { return self }
        if !set.contains(first) && !set.contains(last) { return self }
        return trimmingCharacters(in: set)
    }
}
