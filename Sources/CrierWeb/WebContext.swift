import CrierCore
import CrierHTTP
import Hummingbird
import NIOCore

/// Per-request state of a dashboard page: the signed-in user (from the session cookie) and the
/// request's CSRF token, set by `WebSessionMiddleware`.
public struct WebContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var user: User?
    /// The token every form on the page carries back (`_csrf`); also in the `crier_csrf` cookie.
    public var csrfToken = ""
    /// The session cookie's value, when the request had a valid one (to end it at log-out).
    var sessionCookie: String?
    /// Whether the CSRF token came from the browser's cookie (a post without one is refused).
    var csrfFromCookie = false
    /// Whether cookies set now must be Secure (Crier is reached over https).
    var secureCookies = false
    /// The user's numbers that are not connected (for pages: the banner).
    var disconnected: [NumberNotice] = []
    public let remoteAddress: String?
    /// The client for throttling (the peer, or whom a trusted proxy forwarded for).
    public let clientAddress: String?
    let connectionClosed: EventLoopFuture<Void>?

    public init(context: CrierRequestContext) throws {
        coreContext = context.coreContext
        remoteAddress = context.remoteAddress
        clientAddress = context.clientAddress
        connectionClosed = context.connectionClosed
    }

    /// A form post may carry a campaign's text and template; far below the API's 1 MB.
    public var maxUploadSize: Int { 256 * 1024 }

    /// The signed-in user; pages that need one are behind `RequireSignIn`.
    func requireUser() throws -> User {
        guard let user else { throw WebError.signInRequired }
        return user
    }

    /// Whether the request comes from this machine (first-run setup is allowed only from here).
    var isFromLoopback: Bool {
        guard let remoteAddress else { return false }
        return remoteAddress == "127.0.0.1" || remoteAddress == "::1" || remoteAddress.hasPrefix("::ffff:127.")
    }
}
