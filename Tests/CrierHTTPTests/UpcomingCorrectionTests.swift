import CrierHTTP
import CrierTestSupport
import Foundation
import Testing

/// Issue 21: a running campaign's messages not yet sent can be corrected (a wrong paybill number),
/// the sent ones untouched.
@Suite("Correcting upcoming messages")
struct UpcomingCorrectionTests {
    @Test("PATCH …/upcoming re-renders what is still to send; sent messages keep their text; owner only")
    func correctUpcoming() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign { $0["messageTemplate"] = "Paybill 1234, {days_left} days left" }
            _ = try await harness.markSent(campaignId: id, occurrence: 0, gatewayId: "true_120363025@g.us_3EB0CC_1@c.us")
            let refusedEdit = try await api.call(.put, "/api/campaigns/\(id)", json: updateBody())
            #expect(refusedEdit.status == .conflict, "updateCampaign keeps the seed's rule")

            let corrected = try await api.call(
                .patch, "/api/campaigns/\(id)/upcoming",
                json: ["messageTemplate": "Paybill 5678, {days_left} days left", "title": "Roof fund (corrected)"])
            #expect(corrected.status == .ok && corrected.json["corrected"]?.int == 2, "\(corrected.json)")
            let read = try await api.call(.get, "/api/campaigns/\(id)")
            let contents = read.json["messages"]?.array?.compactMap { $0["content"]?.string } ?? []
            #expect(contents.count == 3)
            #expect(contents[0].contains("Paybill 1234") && contents[0].contains("Campaign Title: Roof fund\n"), "sent: untouched")
            #expect(contents[1].contains("Paybill 5678, 1 days left") && contents[1].contains("Campaign Title: Roof fund (corrected)"))
            #expect(contents[2].contains("Paybill 5678, 0 days left"))
            #expect(read.json["template"]?.string == "Paybill 5678, {days_left} days left")
            #expect(read.json["title"]?.string == "Roof fund (corrected)")
            #expect(read.json["messages"]?[1]?["scheduledAt"]?.string == "2026-12-02T06:30:00Z", "same times")

            let cleared = try await api.call(.patch, "/api/campaigns/\(id)/upcoming", json: ["targetAmount": ""])
            #expect(cleared.status == .ok)
            #expect(try await api.call(.get, "/api/campaigns/\(id)").json["targetAmount"]?.isNull == true, "blank removes it")

            let bobs = try await api.call(.patch, "/api/campaigns/\(id)/upcoming", as: .bob, json: ["title": "x"])
            #expect(bobs.status == .notFound)
            let unknown = try await api.call(.patch, "/api/campaigns/\(id)/upcoming", json: ["startDate": "2026-12-05"])
            #expect(unknown.status == .badRequest && unknown.field == "startDate")
            let bad = try await api.call(.patch, "/api/campaigns/\(id)/upcoming", json: ["messageTemplate": "{nope}"])
            #expect(bad.status == .badRequest && bad.field == "messageTemplate")
        }
    }

    @Test("a sequence needs as many parts as messages still to send; a finished or deleted campaign is a 409")
    func sequencesAndStates() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign {
                $0["isRecurring"] = true
                $0["recurrence"] = "DAILY"
                $0["messageTemplate"] = "One*Two*Three"
            }
            _ = try await harness.markSent(campaignId: id, occurrence: 0, gatewayId: "true_120363025@g.us_3EB0DD_1@c.us")
            let three = try await api.call(.patch, "/api/campaigns/\(id)/upcoming", json: ["messageTemplate": "A*B*C"])
            #expect(three.status == .badRequest && three.error?.contains("exactly 2") == true, "\(three.json)")
            let two = try await api.call(.patch, "/api/campaigns/\(id)/upcoming", json: ["messageTemplate": "B*C"])
            #expect(two.status == .ok)
            let contents = try await api.call(.get, "/api/campaigns/\(id)").json["messages"]?.array?.compactMap { $0["content"]?.string }
            #expect(contents?.map { $0.split(separator: "\n").last.map(String.init) ?? "" } == ["One", "B", "C"])

            for occurrence in [1, 2] { try await harness.setMessageStatus(.sent, campaignId: id, occurrence: occurrence) }
            let finished = try await api.call(.patch, "/api/campaigns/\(id)/upcoming", json: ["title": "x"])
            #expect(finished.status == .conflict && finished.code == "nothing_upcoming")
            let other = try await api.createCampaign()
            try await api.call(.delete, "/api/campaigns/\(other)")
            #expect(try await api.call(.patch, "/api/campaigns/\(other)/upcoming", json: ["title": "x"]).status == .conflict)
        }
    }
}
