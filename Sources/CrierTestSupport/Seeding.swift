import CrierCore
import CrierService
import CrierStorage
import Foundation

extension Fixtures {
    /// Creates a user, `sessions` sessions named `phone-N`, and `count` one-message campaigns through
    /// the campaign service, all due at `time` UTC on `day`, spread round-robin over the sessions, the
    /// text of message N being `"\(textPrefix) N"`. `clock` must be before the due time.
    public static func seedDueCampaigns(
        store: any Store, clock: any WallClock, count: Int, sessions: Int, day: String, time: String,
        textPrefix: String
    ) async throws {
        let accounts = AccountService(store: store, clock: clock, passwordHashCost: 4)
        let user = try await accounts.addUser(email: "ops@example.com", name: nil, password: "password1", isAdmin: true)
        let campaigns = CampaignService(store: store, clock: clock, validator: CampaignValidator())
        for session in 0..<sessions {
            _ = try await store.registerSession(name: "phone-\(session)", ownerId: user.id, at: clock.now())
        }
        for index in 0..<count {
            var input = campaignInput(sessionId: "phone-\(index % sessions)", start: day, end: day, time: time)
            input.messageTemplate = "\(textPrefix) \(index)"
            input.isFreeForm = true
            _ = try await campaigns.create(input, for: user)
        }
    }
}
