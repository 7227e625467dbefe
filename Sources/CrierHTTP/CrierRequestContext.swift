import CrierStorage
import Hummingbird

/// Per-request state: the authenticated caller, once the auth middleware has found one.
public struct CrierRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var user: User?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// The largest request body accepted (413 above it). A 2000-part sequence of long messages fits.
    public var maxUploadSize: Int { 1024 * 1024 }

    /// The caller; routes behind the auth middleware always have one.
    func requireUser() throws -> User {
        guard let user else { throw APIError.unauthorized("Missing or invalid API token") }
        return user
    }
}
