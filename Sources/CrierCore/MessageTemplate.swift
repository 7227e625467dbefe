import Foundation

/// A campaign's message template: either one text for every occurrence or a `*`-separated sequence.
///
/// `{days_left}` is replaced everywhere; `\*` is always a literal asterisk. Only a recurring campaign
/// treats an unescaped `*` as a separator — a daily countdown keeps it as typed, since WhatsApp uses
/// `*bold*`.
public struct MessageTemplate: Hashable, Sendable {
    public enum Body: Hashable, Sendable {
        case single(String)
        case sequence([String])
    }

    public let body: Body

    public var isSequence: Bool {
        if case .sequence = body { true } else { false }
    }

    public init(_ template: String, isRecurring: Bool) {
        guard isRecurring, MessageTemplate.hasSeparator(template) else {
            body = .single(MessageTemplate.unescape(template))
            return
        }
        var parts: [String] = []
        var current = ""
        var iterator = template.makeIterator()
        while let character = iterator.next() {
            if character == "\\" {
                let next = iterator.next()
                if next == "*" {
                    current.append("*")
                } else {
                    current.append(character)
                    if let next { current.append(next) }
                }
            } else if character == "*" {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        body = .sequence(parts.map { $0.trimmed(of: .whitespacesAndNewlines) }.filter { !$0.isEmpty })
    }

    /// The text for occurrence `index` (0-based from the start date) with `{days_left}` filled in.
    public func text(forOccurrence index: Int, daysLeft: Int) -> String {
        let raw: String
        switch body {
        case .single(let text): raw = text
        case .sequence(let parts): raw = parts[index]
        }
        return raw.replacingAll("{days_left}", with: String(daysLeft))
    }

    private static func hasSeparator(_ template: String) -> Bool {
        var escaped = false
        for character in template {
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "*" {
                return true
            }
        }
        return false
    }

    private static func unescape(_ text: String) -> String { text.replacingAll("\\*", with: "*") }
}
