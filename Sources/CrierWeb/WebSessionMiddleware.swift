import CrierService
import Crypto
import Foundation
import Hummingbird

/// Finds the signed-in user from the session cookie and gives every request a CSRF token.
///
/// CSRF protection, checked by `WebForm.read` on every post:
/// - Signed in, the token is bound to the sign-in: a hash of the session cookie (HttpOnly, so a
///   page elsewhere can neither read nor compute it), new with every sign-in.
/// - Signed out (sign-in, sign-up, first-run forms), a double-submit token: a random value in an
///   HttpOnly, SameSite=Strict cookie that the form also carries; a page served without the cookie
///   sets a fresh one, and a sign-in replaces it.
/// - Either way, a post whose `Sec-Fetch-Site` is not same-origin, or whose `Origin` is not this
///   site, is refused before its token is looked at.
struct WebSessionMiddleware: RouterMiddleware {
    typealias Context = WebContext
    static let sessionCookie = "crier_session"
    static let csrfCookie = "crier_csrf"

    let accounts: AccountService
    /// For the banner: the user's numbers that are not connected, by their last known status.
    let sessions: SessionService
    /// Cookies are marked Secure when Crier is reached over https (its public URL, or a proxy's
    /// X-Forwarded-Proto).
    let publicURLIsHTTPS: Bool

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let value = request.cookies[Self.sessionCookie]?.value,
            let user = try await accounts.user(forWebSession: value)
        {
            context.user = user
            context.sessionCookie = value
            if request.method == .get {
                context.disconnected = try await sessions.disconnected(for: user).map {
                    NumberNotice(id: $0.session.id, name: $0.session.name, words: $0.words)
                }
            }
        }
        var newToken: String?
        if let session = context.sessionCookie {
            context.csrfToken = Self.sessionBoundToken(session)
            context.csrfFromCookie = true
        } else if let token = request.cookies[Self.csrfCookie]?.value, Self.isWellFormed(token) {
            context.csrfToken = token
            context.csrfFromCookie = true
        } else {
            let token = Self.newToken()
            context.csrfToken = token
            newToken = token
        }
        let secure = isSecure(request)
        context.secureCookies = secure
        var response = try await next(request, context)
        if let newToken, !response.headers[values: .setCookie].contains(where: { $0.hasPrefix(Self.csrfCookie + "=") }) {
            response.setCookie(Cookie(name: Self.csrfCookie, value: newToken, path: "/", secure: secure, httpOnly: true, sameSite: .strict))
        }
        return response
    }

    private func isSecure(_ request: Request) -> Bool {
        publicURLIsHTTPS || request.headers[.xForwardedProto]?.lowercased() == "https"
    }

    /// The CSRF token of a sign-in: a hash of its session cookie, so it changes with every sign-in.
    static func sessionBoundToken(_ session: String) -> String {
        SHA256.hash(data: Data(("crier-csrf:" + session).utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A fresh double-submit cookie (set at sign-in, so a token planted before it is worthless).
    static func freshCSRFCookie(secure: Bool) -> Cookie {
        Cookie(name: csrfCookie, value: newToken(), path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    static func newToken() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { bytes in bytes.map { String(format: "%02x", $0) }.joined() }
    }

    static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 64 && token.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Compares in time independent of where the values differ.
    static func tokensMatch(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension WebContext {
    /// The session cookie for a new sign-in.
    func sessionCookie(_ value: String) -> Cookie {
        Cookie(
            name: WebSessionMiddleware.sessionCookie, value: value, maxAge: Int(AccountService.webSessionLifetime),
            path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    /// Clears the session cookie at log-out.
    var expiredSessionCookie: Cookie {
        Cookie(
            name: WebSessionMiddleware.sessionCookie, value: "", maxAge: 0, path: "/", secure: secureCookies,
            httpOnly: true, sameSite: .lax)
    }
}
