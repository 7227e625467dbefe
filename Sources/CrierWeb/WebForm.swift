import Foundation
import Hummingbird

/// A submitted `application/x-www-form-urlencoded` form, every value of every field in order
/// (a field may repeat: several chosen chats are several `groupId` values).
struct WebForm: Sendable {
    private(set) var fields: [(name: String, value: String)] = []

    init(fields: [(name: String, value: String)]) { self.fields = fields }

    /// Reads and parses the body and checks its CSRF token against the browser's cookie: every
    /// dashboard post goes through here. A body that is not a form is a 400, a bad token a 403.
    static func read(_ request: Request, context: WebContext) async throws -> WebForm {
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        guard let form = parse(String(decoding: body.readableBytesView, as: UTF8.self)) else {
            throw WebError.badRequest("The form could not be read.")
        }
        guard isSameOrigin(request), context.csrfFromCookie, let token = form["_csrf"],
            WebSessionMiddleware.tokensMatch(token, context.csrfToken)
        else { throw WebError.csrfRejected }
        return form
    }

    /// What the browser says of where a post comes from: `Sec-Fetch-Site` must be same-origin (or
    /// none: typed by the user), and `Origin`, when sent, must name this site (the `Host` it was sent
    /// to). Clients that send neither (scripts, old browsers) rely on the token alone.
    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[.secFetchSite]?.lowercased(), site != "same-origin", site != "none" { return false }
        guard let origin = request.headers[.origin] else { return true }
        guard let url = URL(string: origin), let host = url.host, let requested = request.head.authority
        else { return false }
        let authority = url.port.map { "\(host):\($0)" } ?? host
        return authority.lowercased() == requested.lowercased()
    }

    /// `nil` when a name or value is not valid percent-encoding.
    static func parse(_ body: String) -> WebForm? {
        var fields: [(String, String)] = []
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else { return nil }
            fields.append((name, value))
        }
        return WebForm(fields: fields)
    }

    /// `+` as a space and `%XX` as a byte, the bytes read as UTF-8; `nil` for a `%` without two hex
    /// digits or bytes that are not UTF-8 (what `removingPercentEncoding` refuses). Written over the
    /// bytes: going through NSString twice per field cost 0.1 s of CPU for a 256 KiB form.
    static func decode(_ part: Substring) -> String? {
        let utf8 = part.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) else { return String(part) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            index = utf8.index(after: index)
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard index != utf8.endIndex, let high = hexValue(utf8[index]) else { return nil }
                index = utf8.index(after: index)
                guard index != utf8.endIndex, let low = hexValue(utf8[index]) else { return nil }
                index = utf8.index(after: index)
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The field's first value, `nil` when absent.
    subscript(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// The field's first value with surrounding blanks removed, `nil` when absent or blank.
    func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// Every non-blank value of a repeated field.
    func all(_ name: String) -> [String] {
        fields.filter { $0.name == name }.map { $0.value.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A checkbox: present and not "false".
    func isChecked(_ name: String) -> Bool {
        guard let value = self[name] else { return false }
        return value != "false" && value != "0"
    }
}
