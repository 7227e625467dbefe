import CrierCore
import CrierStorage
import Foundation

/// Campaign operations for one caller: validate, plan against the clock, store atomically.
///
/// `onScheduleChange` is called after every change that adds or cancels messages, with the soonest
/// instant an added message falls due (nil when it cannot be said), so a dispatcher can wake up instead
/// of polling — or sleep on, when it will look before then anyway — and with the campaigns' owner,
/// whose other open pages refresh.
public struct CampaignService: Sendable {
    let store: any CampaignStore & SessionStore
    let clock: any WallClock
    let validator: CampaignValidator
    let onScheduleChange: @Sendable (_ earliestDue: Date?, _ ownerId: Int64) async -> Void

    public init(
        store: any CampaignStore & SessionStore, clock: any WallClock, validator: CampaignValidator,
        onScheduleChange: @escaping @Sendable (_ earliestDue: Date?, _ ownerId: Int64) async -> Void = { _, _ in }
    ) {
        self.store = store
        self.clock = clock
        self.validator = validator
        self.onScheduleChange = onScheduleChange
    }

    /// Exactly the messages `create` would store; stores nothing.
    public func preview(_ input: CampaignInput, for user: User) async throws -> [PlannedMessage] {
        let (settings, _) = try await validated(input, for: user)
        return try CampaignPlanner.plan(settings, now: clock.now())
    }

    /// Creates the campaign; returns its id.
    public func create(_ input: CampaignInput, for user: User) async throws -> String {
        let ids = try await create([input], for: user)
        guard let id = ids.first else { throw DomainError.campaignNotFound }
        return id
    }

    /// Creates one campaign per input (one per chosen chat), all on one session, in one transaction:
    /// all of them or none. Returns their ids in the inputs' order. The session is looked up by the
    /// store, in the transaction that writes.
    public func create(_ inputs: [CampaignInput], for user: User) async throws -> [String] {
        let now = clock.now()
        let (sessionIdOrName, campaigns) = try planned(inputs, now: now)
        let ids = try await save(campaigns, sessionIdOrName: sessionIdOrName, ownerId: user.id, at: now)
        await onScheduleChange(campaigns.lazy.flatMap(\.messages).map(\.scheduledAt).min(), user.id)
        return ids
    }

    /// Stores the campaigns; a session the owner does not have is the input's fault.
    private func save(
        _ campaigns: [NewCampaign], sessionIdOrName: String, ownerId: Int64, at now: Date
    ) async throws -> [String] {
        do {
            return try await store.createCampaigns(ownerId: ownerId, sessionIdOrName: sessionIdOrName, campaigns, at: now)
        } catch {
            throw (error as? DomainError) == .sessionNotFound ? Self.unknownSession : error
        }
    }

    /// The inputs validated and planned, and the session they share.
    private func planned(_ inputs: [CampaignInput], now: Date) throws -> (sessionIdOrName: String, [NewCampaign]) {
        let settings = try inputs.map(validator.validate)
        guard let sessionIdOrName = settings.first?.sessionId else {
            throw CampaignValidationError(field: "groupId", message: "choose at least one group or contact")
        }
        guard settings.allSatisfy({ $0.sessionId == sessionIdOrName }) else {
            throw CampaignValidationError(field: "sessionId", message: "campaigns created together share one session")
        }
        let campaigns = try settings.map { NewCampaign(settings: $0, messages: try CampaignPlanner.plan($0, now: now)) }
        return (sessionIdOrName, campaigns)
    }

    /// Replaces a campaign's settings and schedule. The chat and session cannot change: they are taken
    /// from the stored campaign, whatever `input` says.
    public func update(id: String, with input: CampaignInput, for user: User) async throws {
        guard let existing = try await store.campaign(id: id, ownerId: user.id) else {
            throw DomainError.campaignNotFound
        }
        guard existing.deletedAt == nil else { throw DomainError.campaignDeleted }
        guard existing.tally[.sent] + existing.tally[.sending] == 0 else { throw DomainError.campaignAlreadySent }
        var input = input
        input.groupId = existing.settings.groupId
        input.groupName = existing.settings.groupName
        input.sessionId = existing.session.id
        let settings = try validator.validate(input)
        let now = clock.now()
        let messages = try CampaignPlanner.plan(settings, now: now)
        try await store.replaceSchedule(campaignId: id, ownerId: user.id, settings: settings, messages: messages, at: now)
        await onScheduleChange(messages.map(\.scheduledAt).min(), user.id)
    }

    /// Re-renders the campaign's messages not yet sent with corrected text, title, target or header
    /// (same occurrences, same times); what was sent is untouched. Returns how many changed.
    public func correctUpcoming(id: String, with correction: UpcomingCorrection, for user: User) async throws -> Int {
        guard let existing = try await store.campaign(id: id, ownerId: user.id) else { throw DomainError.campaignNotFound }
        guard existing.deletedAt == nil else { throw DomainError.campaignDeleted }
        let settings = try validator.validate(correction.input(correcting: existing.settings))
        let upcoming = (existing.messages ?? []).filter { $0.status == .pending }
        guard !upcoming.isEmpty else { throw DomainError.nothingUpcoming }
        let texts = try CampaignPlanner.upcomingTexts(
            settings, occurrences: upcoming.map { ($0.occurrenceIndex, $0.occurrenceDate) })
        let contents = Dictionary(zip(upcoming.map(\.occurrenceIndex), texts), uniquingKeysWith: { first, _ in first })
        let changed = try await store.correctUpcoming(
            campaignId: id, ownerId: user.id, settings: settings, contents: contents, at: clock.now())
        await onScheduleChange(nil, user.id)
        return changed
    }

    /// Soft-deletes the campaign and cancels what it has not sent.
    public func delete(id: String, for user: User) async throws {
        try await store.deleteCampaign(campaignId: id, ownerId: user.id, at: clock.now())
        await onScheduleChange(nil, user.id)
    }

    public func campaign(id: String, for user: User) async throws -> StoredCampaign {
        guard let campaign = try await store.campaign(id: id, ownerId: user.id) else {
            throw DomainError.campaignNotFound
        }
        return campaign
    }

    public func campaigns(
        _ listing: CampaignListing, for user: User, limit: Int, cursor: String?, includeMessages: Bool
    ) async throws -> CampaignPage {
        try await store.campaigns(
            ownerId: user.id, listing: listing, limit: limit, cursor: cursor, includeMessages: includeMessages)
    }

    private static let unknownSession = CampaignValidationError(
        field: "sessionId", message: "Unknown session: register it first with POST /api/sessions")

    private func validated(_ input: CampaignInput, for user: User) async throws -> (CampaignSettings, WhatsAppSession) {
        var settings = try validator.validate(input)
        guard let session = try await store.session(idOrName: settings.sessionId, ownerId: user.id) else {
            throw Self.unknownSession
        }
        settings.sessionId = session.id
        return (settings, session)
    }
}
