import CrierCore
import Foundation

/// Ready-made domain values for tests.
public enum Fixtures {
    /// A valid countdown input; tests change what they care about.
    public static func campaignInput(
        sessionId: String = "default", start: String = "2030-03-01", end: String = "2030-03-03", time: String = "09:30"
    ) -> CampaignInput {
        CampaignInput(
            groupId: "120363025@g.us", groupName: "Church choir", sessionId: sessionId, title: "Roof fund",
            targetAmount: "KES 50,000", startDate: start, endDate: end, messageTime: time, timeZone: "UTC",
            messageTemplate: "{days_left} days left", isRecurring: false)
    }

    /// Validated settings and their planned messages, as the service would hand them to a store.
    public static func plannedCampaign(
        sessionId: String = "default", start: String = "2030-03-01", end: String = "2030-03-03",
        now: Date = Date(timeIntervalSince1970: 0)
    ) throws -> (CampaignSettings, [PlannedMessage]) {
        let settings = try CampaignValidator().validate(campaignInput(sessionId: sessionId, start: start, end: end))
        return (settings, try CampaignPlanner.plan(settings, now: now))
    }
}
