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

    public init(store: any Store, gateway: any Gateway, clock: any WallClock) {
        self.store = store
        self.gateway = gateway
        self.clock = clock
    }

    /// Registers `name` for the user, creating and starting it at the gateway when needed.
    /// Returns whether the registration is new.
    public func register(name: String, for user: User) async throws -> (view: SessionView, created: Bool) {
        guard !name.isEmpty, name.count <= Self.maxNameLength,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        else {
            throw CampaignValidationError(
                field: "name", message: "name must be 1–54 characters of letters, digits, '_' or '-'")
        }
        let (session, created) = try await store.registerSession(name: name, ownerId: user.id, at: clock.now())
        let status = try await gateway.ensureSession(named: name)
        return (SessionView(session: session, status: status), created)
    }

    public func sessions(for user: User) async throws -> [SessionView] {
        var views: [SessionView] = []
        for session in try await store.sessions(ownerId: user.id) {
            views.append(SessionView(session: session, status: try? await gateway.status(ofSession: session.name)))
        }
        return views
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
