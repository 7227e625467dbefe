/// Rules every text field of the API obeys, so that what is stored is exactly what was checked.
///
/// Limits are counted in characters of ordinary text but also capped in UTF-8 bytes (4 per allowed
/// character): a character that is one letter followed by thousands of combining marks counts as one
/// character, and would otherwise bloat the database. Control characters are refused (SQLite and
/// WhatsApp cut text at a NUL); only a template may hold newlines and tabs.
public enum TextRules {
    public static let maxBytesPerCharacter = 4

    /// Throws a `CampaignValidationError` naming `field` when `text` breaks a rule.
    public static func check(
        _ text: String, field: String, maxCharacters: Int, allowsLineBreaks: Bool = false
    ) throws(CampaignValidationError) {
        try checkControlCharacters(text, field: field, allowsLineBreaks: allowsLineBreaks)
        // Counting characters walks the text; one with no more bytes than the limit cannot be over it.
        let bytes = text.utf8.count
        guard bytes <= maxCharacters || (bytes <= maxCharacters * maxBytesPerCharacter && text.count <= maxCharacters) else {
            throw CampaignValidationError(field: field, message: "\(field) must be at most \(maxCharacters) characters")
        }
    }

    /// Refuses control characters (U+0000–U+001F, U+007F–U+009F); newline and tab only when allowed.
    public static func checkControlCharacters(
        _ text: String, field: String, allowsLineBreaks: Bool = false
    ) throws(CampaignValidationError) {
        // Exactly the scalars whose general category is Control (Cc), without a Unicode table lookup.
        for scalar in text.unicodeScalars where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
            if allowsLineBreaks && (scalar == "\n" || scalar == "\t") { continue }
            throw CampaignValidationError(
                field: field,
                message: "\(field) must not contain control characters (found \(codePoint(scalar)))")
        }
    }

    /// `U+000A`.
    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
