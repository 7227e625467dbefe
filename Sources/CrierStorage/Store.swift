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
    /// Every user, oldest first.
    func users() async throws -> [User]
    /// Stores a token's hash; returns the token's public id.
    func addAPIToken(userId: Int64, label: String?, tokenHash: String, at: Date) async throws -> String
    /// The token's user, noting the use at `at`.
    func user(apiTokenHash: String, at: Date) async throws -> User?
    func apiTokens(userId: Int64) async throws -> [APITokenInfo]
    /// Deletes the user's token with this public id; `false` when there is none.
    func revokeAPIToken(id: String, userId: Int64) async throws -> Bool

    // MARK: WhatsApp sessions
    /// Registers `name` for `ownerId`; returns the existing row (`created == false`) when the owner
    /// registered it before. Throws `DomainError.sessionNameTaken` when another user holds it.
    func registerSession(name: String, ownerId: Int64, at: Date) async throws -> (session: WhatsAppSession, created: Bool)
    /// Who registered the session with this gateway name, if anyone.
    func sessionOwner(name: String) async throws -> Int64?
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
    /// A page of the owner's campaigns, newest first, after the campaign whose public id is `cursor`.
    /// Throws `DomainError.invalidCursor` when `cursor` is not one of the owner's campaigns.
    func campaigns(
        ownerId: Int64, listing: CampaignListing, limit: Int, cursor: String?, includeMessages: Bool
    ) async throws -> CampaignPage
}
