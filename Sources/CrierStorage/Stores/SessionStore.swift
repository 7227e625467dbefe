import CrierCore
import Foundation

/// WhatsApp sessions (one phone number each at the gateway), each registered by one user, with the
/// status the gateway last reported. (`SessionStore+SQL`: written once for both back ends.)
public protocol SessionStore: SessionStatusStore {
    /// Registers `name` for `ownerId`; returns the existing row (`created == false`) when the owner
    /// registered it before. Throws `DomainError.sessionNameTaken` when another user holds it.
    func registerSession(name: String, ownerId: Int64, at: Date) async throws -> (session: WhatsAppSession, created: Bool)
    /// Who registered the session with this gateway name, if anyone.
    func sessionOwner(name: String) async throws -> Int64?
    func sessions(ownerId: Int64) async throws -> [WhatsAppSession]
    /// The last status the gateway reported for each of the owner's sessions that has one, by the
    /// session's public id (what pages show without asking the gateway).
    func sessionStatuses(ownerId: Int64) async throws -> [String: String]
    /// The owner's session with this public id or, failing that, this gateway name.
    func session(idOrName: String, ownerId: Int64) async throws -> WhatsAppSession?
}

/// Where what the gateway says of a session's status is kept: the dispatcher learns it from sends,
/// the webhook from WAHA's events.
public protocol SessionStatusStore: Sendable {
    /// Remembers the status the gateway reported for a session (announcing it to its owner's pages
    /// when it changed).
    func recordSessionStatus(name: String, status: String) async throws
}
