import CrierCore
import Foundation

/// Campaigns and their schedules. Every operation is scoped to its owner: another user's campaign is
/// indistinguishable from a missing one. A campaign and its messages change in one transaction.
public protocol CampaignStore: Sendable {
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
