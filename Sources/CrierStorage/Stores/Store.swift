import CrierCore
import Foundation

/// Everything Crier keeps, behind intent-named operations that each preserve the data's invariants:
/// one narrow protocol per consumer (the services and the dispatcher each take the ones they use),
/// and the database's own upkeep here. Both back ends implement all of it.
public protocol Store: AccountStore, SessionStore, CampaignStore, DispatchStore, ReceiptStore, StorageProbe {
    /// Applies pending migrations; safe to call on every start.
    func migrate() async throws
}

/// Whether the database works, for readiness (`StorageHealth`).
public protocol StorageProbe: Sendable {
    /// Proves the database takes a write (readiness): a one-row update, committed.
    func ping() async throws
    /// `error` as the database failing (a full disk, a damaged file, an unreachable server), or
    /// `nil` when it is about the request itself.
    func unavailability(of error: any Error) -> StoreUnavailable?
}


extension CampaignStore {
    /// Stores one campaign and its messages; returns the campaign's public id.
    public func createCampaign(
        ownerId: Int64, session: WhatsAppSession, settings: CampaignSettings, messages: [PlannedMessage], at: Date
    ) async throws -> String {
        let ids = try await createCampaigns(
            ownerId: ownerId, sessionIdOrName: session.id, [NewCampaign(settings: settings, messages: messages)], at: at)
        guard let id = ids.first else { throw DomainError.campaignNotFound }
        return id
    }
}

extension AccountStore {
    /// An active user with full access (the command line's and tests' way of adding one).
    public func createUser(email: String, name: String?, passwordHash: String, isAdmin: Bool, at: Date) async throws -> User {
        try await createUser(email: email, name: name, passwordHash: passwordHash, isAdmin: isAdmin, access: .active, at: at)
    }
}
