import CrierCore
import Foundation

/// Everything Crier keeps, behind intent-named operations that each preserve the data's invariants.
///
/// Every campaign operation is scoped to its owner: another user's campaign is indistinguishable from
/// a missing one. Multi-row changes (a campaign and its messages) happen in one transaction.
public protocol Store: DispatchStore {
    /// Applies pending migrations; safe to call on every start.
    func migrate() async throws
    /// Proves the database takes a write (readiness): a one-row update, committed.
    func ping() async throws
    /// `error` as the database failing (a full disk, a damaged file, an unreachable server), or
    /// `nil` when it is about the request itself.
    func unavailability(of error: any Error) -> StoreUnavailable?

    // MARK: Accounts
    func createUser(
        email: String, name: String?, passwordHash: String, isAdmin: Bool, access: UserAccess, at: Date
    ) async throws -> User
    func user(email: String) async throws -> User?
    /// The user with this public id.
    func user(publicId: String) async throws -> User?
    /// The user's bcrypt hash, to check a sign-in against.
    func passwordHash(userId: Int64) async throws -> String?
    /// Sets whether the user may sign in; `false` when there is no such user.
    func setAccess(_ access: UserAccess, userId: Int64) async throws -> Bool
    /// Deletes the user and everything theirs: campaigns, messages, sessions, tokens, web sessions.
    func deleteUser(userId: Int64) async throws
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
    /// Stores a dashboard sign-in (the cookie's hash) valid until `expiresAt`.
    func createWebSession(userId: Int64, tokenHash: String, expiresAt: Date, at: Date) async throws
    /// The active user a dashboard cookie's hash belongs to while it has not expired.
    func user(webSessionHash: String, at: Date) async throws -> User?
    func deleteWebSession(tokenHash: String) async throws
    /// Sets the user's bcrypt hash and ends their dashboard sign-ins but `keeping` (a cookie's hash).
    func setPasswordHash(userId: Int64, passwordHash: String, keeping: String?) async throws
    /// Stores a password-reset token's hash, usable once until `expiresAt`.
    func createPasswordReset(userId: Int64, tokenHash: String, expiresAt: Date, at: Date) async throws
    /// Uses up a reset token that is unused and unexpired at `at`; returns its user's row id, or `nil`.
    func consumePasswordReset(tokenHash: String, at: Date) async throws -> Int64?

    // MARK: WhatsApp sessions
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

    // MARK: Campaigns
    /// Stores campaigns and their messages in one transaction, all or none; returns their public ids.
    /// The session is named as `session(idOrName:ownerId:)` names it, and looked up in the same
    /// transaction (a create reads nothing before its write); throws `sessionNotFound` when the owner
    /// has no such session.
    func createCampaigns(ownerId: Int64, sessionIdOrName: String, _ campaigns: [NewCampaign], at: Date) async throws -> [String]
    /// Replaces the settings and schedule: pending messages become `cancelled`, the new ones are added.
    /// Throws `campaignNotFound`, `campaignDeleted`, or `campaignAlreadySent` once any message was sent
    /// or is being sent.
    func replaceSchedule(
        campaignId: String, ownerId: Int64, settings: CampaignSettings, messages: [PlannedMessage], at: Date
    ) async throws
    /// Gives the campaign corrected settings and its pending messages of the current schedule new
    /// texts (`contents` by occurrence index), in one transaction; a message being sent keeps its
    /// text. Returns how many messages changed. Throws `campaignNotFound`, `campaignDeleted`.
    func correctUpcoming(
        campaignId: String, ownerId: Int64, settings: CampaignSettings, contents: [Int: String], at: Date
    ) async throws -> Int
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

extension Store {
    /// Stores one campaign and its messages; returns the campaign's public id.
    public func createCampaign(
        ownerId: Int64, session: WhatsAppSession, settings: CampaignSettings, messages: [PlannedMessage], at: Date
    ) async throws -> String {
        let ids = try await createCampaigns(
            ownerId: ownerId, sessionIdOrName: session.id, [NewCampaign(settings: settings, messages: messages)], at: at)
        guard let id = ids.first else { throw DomainError.campaignNotFound }
        return id
    }

    /// An active user with full access (the command line's and tests' way of adding one).
    public func createUser(email: String, name: String?, passwordHash: String, isAdmin: Bool, at: Date) async throws -> User {
        try await createUser(email: email, name: name, passwordHash: passwordHash, isAdmin: isAdmin, access: .active, at: at)
    }
}
