import CrierCore
import CrierGateway
import CrierStorage
import Foundation

/// A user's WhatsApp session with its live status at the gateway.
public struct SessionView: Sendable, Hashable {
    public let session: WhatsAppSession
    public let status: SessionStatus?
}

/// Registers and inspects WhatsApp sessions, owned per user, backed by the gateway.
public struct SessionService: Sendable {
    /// WAHA's own rule for session names.
    public static let maxNameLength = 54

    let store: any Store
    let gateway: any Gateway
    let clock: any WallClock
    /// Where the gateway should post receipts for sessions Crier creates (`nil`: not configured).
    let webhook: SessionSetup.Webhook?

    public init(store: any Store, gateway: any Gateway, clock: any WallClock, webhook: SessionSetup.Webhook? = nil) {
        self.store = store
        self.gateway = gateway
        self.clock = clock
        self.webhook = webhook
    }

    /// Registers `name` for the user. A session the gateway does not have is created and started there,
    /// tagged with its owner. One that exists is the user's only when Crier created it for them (its
    /// tag says so) or when the user is an admin: otherwise anyone could take over a phone someone else
    /// paired. Nothing is stored unless the gateway answered. Returns whether the registration is new.
    public func register(name: String, for user: User) async throws -> (view: SessionView, created: Bool) {
        guard !name.isEmpty, name.utf8.count <= Self.maxNameLength,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        else {
            throw CampaignValidationError(
                field: "name", message: "name must be 1–54 characters of letters, digits, '_' or '-'")
        }
        if let owner = try await store.sessionOwner(name: name), owner != user.id {
            throw DomainError.sessionNameTaken
        }
        let status: SessionStatus
        if let existing = try await gateway.session(named: name) {
            guard existing.owner == user.publicId || user.isAdmin else { throw DomainError.sessionOwnedElsewhere(name) }
            status = existing.status == .stopped ? try await gateway.startSession(name) : existing.status
        } else {
            status = try await gateway.createSession(named: name, setup: SessionSetup(owner: user.publicId, webhook: webhook))
        }
        let (session, created) = try await store.registerSession(name: name, ownerId: user.id, at: clock.now())
        return (SessionView(session: session, status: status), created)
    }

    /// The user's sessions with their live status, the gateway asked for all of them at once.
    public func sessions(for user: User) async throws -> [SessionView] {
        let sessions = try await store.sessions(ownerId: user.id)
        let gateway = self.gateway
        let statuses = await withTaskGroup(of: (Int, SessionStatus?).self) { group in
            for (index, session) in sessions.enumerated() {
                group.addTask { (index, try? await gateway.status(ofSession: session.name)) }
            }
            var statuses = [SessionStatus?](repeating: nil, count: sessions.count)
            for await (index, status) in group { statuses[index] = status }
            return statuses
        }
        return zip(sessions, statuses).map { SessionView(session: $0, status: $1) }
    }

    public func session(id: String, for user: User) async throws -> SessionView {
        let session = try await owned(id, by: user)
        return SessionView(session: session, status: try? await gateway.status(ofSession: session.name))
    }

    /// The QR code (PNG) to pair a phone with the session.
    public func qrCode(id: String, for user: User) async throws -> Data {
        try await gateway.qrCode(session: try await owned(id, by: user).name)
    }

    public func restart(id: String, for user: User) async throws -> SessionView {
        let session = try await owned(id, by: user)
        return SessionView(session: session, status: try await gateway.restartSession(session.name))
    }

    public func logout(id: String, for user: User) async throws -> SessionView {
        let session = try await owned(id, by: user)
        return SessionView(session: session, status: try await gateway.logoutSession(session.name))
    }

    /// The groups the session's phone is in: where `groupId` values come from.
    public func groups(id: String, for user: User) async throws -> [ChatSummary] {
        try await gateway.groups(session: try await owned(id, by: user).name)
    }

    public func contacts(id: String, for user: User) async throws -> [ChatSummary] {
        try await gateway.contacts(session: try await owned(id, by: user).name)
    }

    private func owned(_ id: String, by user: User) async throws -> WhatsAppSession {
        guard let session = try await store.session(idOrName: id, ownerId: user.id) else {
            throw DomainError.sessionNotFound
        }
        return session
    }
}
