import CrierCore
import Foundation

/// Everything Crier keeps, behind intent-named operations that each preserve the data's invariants.
///
/// Every campaign operation is scoped to its owner: another user's campaign is indistinguishable from
/// a missing one. Multi-row changes (a campaign and its messages) happen in one transaction.
public protocol Store: DispatchStore {
    /// Applies pending migrations; safe to call on every start.
    func migrate() async throws
    /// Proves the database answers (readiness).
    func ping() async throws

    // MARK: Accounts
    func createUser(email: String, name: String?, passwordHash: String, isAdmin: Bool, at: Date) async throws -> User
    func user(email: String) async throws -> User?
    func userCount() async throws -> Int
    func addAPIToken(userId: Int64, label: String?, tokenHash: String, at: Date) async throws
    func user(apiTokenHash: String) async throws -> User?

    // MARK: WhatsApp sessions
    /// Registers `name` for `ownerId`; returns the existing row (`created == false`) when the owner
    /// registered it before. Throws `DomainError.sessionNameTaken` when another user holds it.
    func registerSession(name: String, ownerId: Int64, at: Date) async throws -> (session: WhatsAppSession, created: Bool)
    func sessions(ownerId: Int64) async throws -> [WhatsAppSession]
    /// The owner's session with this public id or, failing that, this gateway name.
    func session(idOrName: String, ownerId: Int64) async throws -> WhatsAppSession?

    // MARK: Campaigns
    /// Stores a campaign and its messages; returns the campaign's public id.
    func createCampaign(
        ownerId: Int64, session: WhatsAppSession, settings: CampaignSettings, messages: [PlannedMessage], at: Date
    ) async throws -> String
    /// Replaces the settings and schedule: pending messages become `cancelled`, the new ones are added.
    /// Throws `campaignNotFound`, `campaignDeleted`, or `campaignAlreadySent` once any message was sent
    /// or is being sent.
    func replaceSchedule(
        campaignId: String, ownerId: Int64, settings: CampaignSettings, messages: [PlannedMessage], at: Date
    ) async throws
    /// Soft-deletes the campaign and cancels its pending messages; a message being sent finishes.
    /// Deleting twice succeeds. Throws `campaignNotFound`.
    func deleteCampaign(campaignId: String, ownerId: Int64, at: Date) async throws
    /// The campaign with its messages, deleted or not; `nil` when missing or not the owner's.
    func campaign(id: String, ownerId: Int64) async throws -> StoredCampaign?
    func campaigns(
        ownerId: Int64, listing: CampaignListing, limit: Int, cursor: String?, includeMessages: Bool
    ) async throws -> CampaignPage
}
