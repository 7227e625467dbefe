import CrierCore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// Renders the dashboard's Mustache templates (every `{{value}}` HTML-escaped, in text and in
/// attributes) into responses that carry the dashboard's security headers.
public struct PageRenderer: Sendable {
    let library: MustacheLibrary

    /// Loads every template in the module's `Templates` folder.
    public static func load() async throws -> PageRenderer {
        guard let folder = Bundle.module.url(forResource: "Templates", withExtension: nil) else {
            throw DashboardSetupError("the dashboard's templates are missing from the build")
        }
        return PageRenderer(library: try await MustacheLibrary(directory: folder.path))
    }

    /// Strict by default: scripts and styles only from this server's own files (no inline script,
    /// so no nonce is needed), QR codes as images from here, forms only back to here, never framed.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static var securityHeaders: HTTPFields {
        [
            .contentSecurityPolicy: contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            .referrerPolicy: "same-origin",
            .xFrameOptions: "DENY",
            .cacheControl: "no-store",
        ]
    }

    /// The template rendered with `values`, or an empty string for a template that does not exist
    /// (a programming error the route tests catch).
    func html(_ template: String, _ values: [String: Any]) -> String {
        library.render(values, withTemplate: template) ?? ""
    }

    /// A full page: the template inside the layout, with the signed-in user's navigation.
    func page(
        _ template: String, title: String, context: WebContext, status: HTTPResponse.Status = .ok,
        _ values: [String: Any] = [:], layout: LayoutOptions
    ) -> Response {
        var values = values
        values["layout"] = Layout(
            title: title, user: context.user.map(UserBadge.init), csrf: context.csrfToken,
            consoleGateway: layout.consoleGateway, notice: layout.notice, numbers: context.disconnected)
        values["csrf"] = context.csrfToken
        return Self.htmlResponse(html(template, values), status: status)
    }

    /// A live part of a page alone (`data-live`), for the page's script to put in place.
    func fragment(_ template: String, context: WebContext, _ values: [String: Any] = [:]) -> Response {
        var values = values
        values["layout"] = Layout(
            title: "", user: context.user.map(UserBadge.init), csrf: context.csrfToken, consoleGateway: false,
            notice: nil, numbers: context.disconnected)
        values["csrf"] = context.csrfToken
        return Self.htmlResponse(html(template, values))
    }

    static func htmlResponse(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// After a form post: go to `path` with a GET (303), so reloading does not post again.
    static func redirect(to path: String) -> Response {
        Response(status: .seeOther, headers: [.location: path, .cacheControl: "no-store"])
    }
}

/// What every page's layout shows besides the page itself.
struct LayoutOptions: Sendable {
    var consoleGateway: Bool
    var notice: String?
}

/// The layout's fields, read by `layout.mustache`.
struct Layout {
    let title: String
    let user: UserBadge?
    let csrf: String
    let consoleGateway: Bool
    let notice: String?
    /// The user's numbers that are not connected: the banner on every page.
    let numbers: [NumberNotice]
}

/// A number that is not connected, as the banner names it.
struct NumberNotice: Sendable {
    let id: String
    let name: String
    let words: String
}

/// The signed-in user as the header shows them.
struct UserBadge {
    let email: String
    let isAdmin: Bool

    init(_ user: User) {
        email = user.email
        isAdmin = user.isAdmin
    }
}

/// The dashboard cannot start (its templates did not load).
public struct DashboardSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension HTTPTypes.HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let xForwardedProto = Self("X-Forwarded-Proto")!
    static let forwarded = Self("Forwarded")!
    static let secFetchSite = Self("Sec-Fetch-Site")!
}
