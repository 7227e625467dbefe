import CrierHTTP
import CrierCore
import CrierStorage
import CrierTestSupport
import Foundation
import Testing

/// Issue 21: every campaign read says what needs the organiser's attention, so that a campaign whose
/// messages were missed, failed or wait never looks as if all were well.
@Suite("Campaign attention in the API")
struct AttentionTests {
    @Test("missed and failed with counts, a disconnected number, a due message waiting: in reads and lists")
    func attention() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign()
            func attention() async throws -> [String: JSONValue] {
                let read = try await api.call(.get, "/api/campaigns/\(id)")
                var byKind: [String: JSONValue] = [:]
                for item in read.json["attention"]?.array ?? [] { byKind[item["kind"]?.string ?? "?"] = item }
                return byKind
            }
            #expect(try await attention().isEmpty, "all is well: nothing to see")

            try await harness.setMessageStatus(.missed, campaignId: id, occurrence: 0)
            let missed = try await attention()["missed"]
            #expect(missed?["count"]?.int == 1 && missed?["message"]?.string == "1 missed")
            let listed = try await api.call(.get, "/api/campaigns")
            #expect(listed.json[0]?["attention"]?[0]?["kind"]?.string == "missed", "lists carry it too")
            #expect(listed.json[0]?["status"]?.string == "SCHEDULED", "the status values stay the seed's")

            try await harness.setMessageStatus(.failed, campaignId: id, occurrence: 1)
            #expect(try await attention()["failed"]?["count"]?.int == 1)

            try await harness.store.recordSessionStatus(name: APIHarness.adaSession, status: "SCAN_QR_CODE")
            let disconnected = try await attention()["session_not_working"]?["message"]?.string
            #expect(disconnected == "Number disconnected (waiting for its QR code to be scanned) — messages are waiting")
            let bobs = try await api.call(.get, "/api/campaigns", as: .bob)
            #expect(bobs.json.array?.isEmpty == true)
            try await harness.store.recordSessionStatus(name: APIHarness.adaSession, status: "WORKING")
            #expect(try await attention()["session_not_working"] == nil)

            // The last message falls due and the gateway refuses it for now: it waits, and says why.
            let due = Date(iso: "2026-12-03T06:30:00Z")
            let claim = try #require(
                try await harness.store.claimDueMessages(now: due, limit: 1, owner: "t", leaseUntil: due.addingTimeInterval(30)).first)
            let log = AttemptLog(startedAt: due, finishedAt: due, outcome: .retry, gatewayStatus: 500, reason: "WAHA 500: busy", attempted: true)
            #expect(try await harness.store.recordOutcome(
                claim, .retry(at: due.addingTimeInterval(60), reason: "WAHA 500: busy", needsReconcile: false, sendStartedAt: nil), log: log))
            #expect(try await attention()["waiting"]?["message"]?.string == "A due message is waiting: WAHA 500: busy")

            try await api.call(.delete, "/api/campaigns/\(id)")
            #expect(try await attention().isEmpty, "a deleted campaign needs nothing")
        }
    }
}
