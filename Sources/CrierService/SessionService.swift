import CrierCore
import CrierGateway
import CrierStorage
import Foundation

/// A user's WhatsApp session with its live status at the gateway, and whether the gateway is set up
/// for what Crier relies on: receipts (deliveredAt / readAt) and message history (reconciliation).
public struct SessionView: Sendable, Hashable {
    public let session: WhatsAppSession
    public let status: SessionStatus?
    /// `nil` when the gateway could not say.
    public let receiptsEnabled: Bool?
    public let historyEnabled: Bool?
    /// The linked phone's number (digits) and WhatsApp name, once WORKING and when the gateway says.
    public let phoneNumber: String?
    public let pushName: String?

    public init(
        session: WhatsAppSession, status: SessionStatus?, receiptsEnabled: Bool? = nil, historyEnabled: Bool? = nil,
        phoneNumber: String? = nil, pushName: String? = nil
    ) {
        self.session = session
        self.status = status
        self.receiptsEnabled = receiptsEnabled
        self.historyEnabled = historyEnabled
        self.phoneNumber = phoneNumber
        self.pushName = pushName
    }

    /// What the user should know, in plain words: never a silent gap.
    public var warnings: [String] {
        var warnings: [String] = []
        if receiptsEnabled == false {
            warnings.append(
                "Delivery receipts are off for this session at the gateway, so deliveredAt and readAt stay empty; "
                    + "POST /api/sessions/\(session.id)/configure turns them on (the session restarts)")
        }
        if historyEnabled == false {
            warnings.append(
                "The gateway keeps no message history for this session, so after an uncertain send Crier cannot "
                    + "tell whether it went out; POST /api/sessions/\(session.id)/configure turns it on")
        }
        return warnings
    }
}

/// Registers and inspects WhatsApp sessions, owned per user, backed by the gateway.
public struct SessionService: Sendable {
    /// WAHA's own rule for session names.
    public static let maxNameLength = 54

    let store: any SessionStore
    let gateway: any Gateway
    let clock: any WallClock
    /// Where the gateway should post receipts for sessions Crier creates (`nil`: not configured).
    let webhook: SessionSetup.Webhook?

    public init(store: any SessionStore, gateway: any Gateway, clock: any WallClock, webhook: SessionSetup.Webhook? = nil) {
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
        // The full view (receipts, history, warnings) where the gateway can say; else what it answered.
        let view = await self.view(session)
        return (view.status == nil ? SessionView(session: session, status: status) : view, created)
    }

    /// The user's sessions with their live status, the gateway asked for all of them at once.
    public func sessions(for user: User) async throws -> [SessionView] {
        let sessions = try await store.sessions(ownerId: user.id)
        return await withTaskGroup(of: (Int, SessionView).self) { group in
            for (index, session) in sessions.enumerated() {
                group.addTask { (index, await self.view(session)) }
            }
            var views: [SessionView?] = Array(repeating: nil, count: sessions.count)
            for await (index, view) in group { views[index] = view }
            return views.compactMap { $0 }
        }
    }

    /// The user's numbers that are not connected, by their last known status (no gateway asked):
    /// what every page's banner names.
    public func disconnected(for user: User) async throws -> [(session: WhatsAppSession, words: String)] {
        let statuses = try await store.sessionStatuses(ownerId: user.id)
        guard statuses.values.contains(where: { $0 != SessionStatus.working.rawValue }) else { return [] }
        return try await store.sessions(ownerId: user.id).compactMap { session in
            guard let status = statuses[session.id].flatMap(SessionStatus.init(rawValue:)), status != .working else { return nil }
            return (session, status.words)
        }
    }

    public func session(id: String, for user: User) async throws -> SessionView {
        await view(try await owned(id, by: user))
    }

    /// Sets Crier's configuration (receipts, history, webhook, owner tag) on a session that exists at the
    /// gateway, keeping the rest of its configuration. The gateway restarts the session.
    public func configure(id: String, for user: User) async throws -> SessionView {
        let session = try await owned(id, by: user)
        _ = try await gateway.configureSession(session.name, setup: SessionSetup(owner: user.publicId, webhook: webhook))
        return await view(session)
    }

    /// The session as the gateway knows it; a gateway that cannot be asked leaves its fields `nil`.
    /// What it answered is stored, so that campaigns and the banner show a disconnected number
    /// without asking the gateway on every page.
    private func view(_ session: WhatsAppSession) async -> SessionView {
        let view: SessionView
        if let info = try? await gateway.session(named: session.name) {
            view = SessionView(
                session: session, status: info.status, receiptsEnabled: info.receiptsEnabled,
                historyEnabled: info.historyEnabled, phoneNumber: info.phoneNumber, pushName: info.pushName)
        } else {
            view = SessionView(session: session, status: try? await gateway.status(ofSession: session.name))
        }
        if let status = view.status {
            try? await store.recordSessionStatus(name: session.name, status: status.rawValue)
        }
        return view
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
