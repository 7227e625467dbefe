import CrierCore
import Hummingbird
import NIOCore

/// Per-request state: the authenticated caller, once the auth middleware has found one.
public struct CrierRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var user: User?
    /// The peer's IP address (the first-run setup's localhost check); `nil` when the connection has
    /// none (an in-process test client).
    public let remoteAddress: String?
    /// Who the client is for throttling: the peer, or the address a trusted proxy forwarded for
    /// (`ClientAddressMiddleware`).
    public var clientAddress: String?
    /// Completes when the client's connection closes: a response that streams (`/events`) ends then,
    /// instead of holding its slot until it next writes.
    public let connectionClosed: EventLoopFuture<Void>?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
        clientAddress = remoteAddress
        connectionClosed = source.channel.closeFuture
    }

    /// The largest request body accepted (413 above it). A 2000-part sequence of long messages fits.
    public var maxUploadSize: Int { 1024 * 1024 }

    /// The caller; routes behind the auth middleware always have one.
    public func requireUser() throws -> User {
        guard let user else { throw APIError.unauthorized("Missing or invalid API token") }
        return user
    }
}
