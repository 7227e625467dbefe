import CrierTestSupport
import Foundation
import Testing

@testable import CrierHTTP

@Suite("Campaign API")
struct CampaignAPITests {
    @Test("createCampaign answers 201 and getCampaign returns every field")
    func createAndRead() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let created = try await api.call(.post, "/api/campaigns", json: campaignBody())
            #expect(created.status == .created)
            #expect(created.json["success"]?.bool == true)
            let id = try #require(created.json["campaignId"]?.string)

            let campaign = try await api.call(.get, "/api/campaigns/\(id)")
            #expect(campaign.status == .ok)
            let c = campaign.json
            #expect(c["id"]?.string == id)
            #expect(c["title"]?.string == "Roof fund")
            #expect(c["targetAmount"]?.string == "KES 50,000")
            #expect(c["startDate"]?.string == "2026-12-01")
            #expect(c["endDate"]?.string == "2026-12-03")
            #expect(c["messageTime"]?.string == "09:30")
            #expect(c["sendTimeUtc"]?.string == "2026-12-01T06:30:00Z", "09:30 in Nairobi (+03:00)")
            #expect(c["timeZone"]?.string == "Africa/Nairobi")
            #expect(c["template"]?.string == "{days_left} days left")
            #expect(c["status"]?.string == "SCHEDULED")
            #expect(c["createdAt"]?.string == "2026-11-25T10:00:00Z")
            #expect(c["isRecurring"]?.bool == false)
            #expect(c["recurrence"]?.string == "DAILY")
            #expect(c["isFreeForm"]?.bool == false)
            #expect(c["audienceType"]?.string == "groups")
            #expect(c["group"]?["groupId"]?.string == "120363025@g.us")
            #expect(c["group"]?["groupName"]?.string == "Church choir")
            #expect(c["sessionId"]?.string?.isEmpty == false)
            for (key, count) in ["total": 3, "sent": 0, "failed": 0, "missed": 0, "pending": 3] {
                #expect(c["progress"]?[key]?.int == count, "progress.\(key)")
            }
            #expect(c["nextSendAt"]?.string == "2026-12-01T06:30:00Z")
            let messages = try #require(c["messages"]?.array)
            #expect(messages.compactMap { $0["scheduledAt"]?.string } == [
                "2026-12-01T06:30:00Z", "2026-12-02T06:30:00Z", "2026-12-03T06:30:00Z",
            ])
            #expect(messages[0]["content"]?.string == "Campaign Title: Roof fund\nCampaign Start Date: 2026-12-01\n"
                + "Campaign End Date: 2026-12-03\nContribution Target Amount: KES 50,000\nDays Remaining: 2\n\n2 days left")
            #expect(messages[0]["status"]?.string == "pending")
            #expect(messages[0]["isSent"]?.bool == false)
            #expect(messages[0]["isFailed"]?.bool == false)
            for key in ["sentAt", "failedReason", "deliveredAt", "readAt"] {
                #expect(messages[0][key]?.isNull == true, "\(key) is an explicit null")
            }
        }
    }

    @Test("previewCampaign returns what create would store and stores nothing")
    func preview() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            var body = campaignBody()
            body["isFreeForm"] = true
            body["isRecurring"] = true
            body["recurrence"] = "WEEKLY"
            body["startDate"] = "2026-12-01"
            body["endDate"] = "2026-12-15"
            body["messageTemplate"] = "First * Second {days_left} * Third"
            let preview = try await api.call(.post, "/api/campaigns/preview", json: body)
            #expect(preview.status == .ok)
            let messages = try #require(preview.json["messages"]?.array)
            #expect(messages.compactMap { $0["content"]?.string } == ["First", "Second 7", "Third"])
            #expect(messages.compactMap { $0["daysLeft"]?.int } == [14, 7, 0])
            #expect(messages.compactMap { $0["scheduledAt"]?.string } == [
                "2026-12-01T06:30:00Z", "2026-12-08T06:30:00Z", "2026-12-15T06:30:00Z",
            ])
            #expect(try await api.call(.get, "/api/campaigns").json == .array([]))

            let id = try await api.createCampaign { $0 = body }
            let stored = try await api.call(.get, "/api/campaigns/\(id)").json["messages"]?.array ?? []
            #expect(stored.map { $0["content"] } == messages.map { $0["content"] })
            #expect(stored.map { $0["scheduledAt"] } == messages.map { $0["scheduledAt"] })
        }
    }

    @Test("a campaign created at 10:00 for today 09:00 starts tomorrow")
    func pastOccurrencesAreSkipped() async throws {
        let harness = try await APIHarness.make(now: "2026-12-01T10:00:00Z")
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign {
                $0["timeZone"] = "UTC"
                $0["messageTime"] = "09:00"
            }
            let campaign = try await api.call(.get, "/api/campaigns/\(id)").json
            #expect(campaign["sendTimeUtc"]?.string == "2026-12-02T09:00:00Z")
            #expect(campaign["progress"]?["total"]?.int == 2)
        }
    }

    struct InvalidRow: Sendable, CustomTestStringConvertible {
        let name: String
        let change: @Sendable (inout [String: Any]) -> Void
        let field: String
        let message: String
        var testDescription: String { name }
    }

    static let invalidRows: [InvalidRow] = [
        InvalidRow(name: "end before start", change: { $0["endDate"] = "2026-11-30" }, field: "endDate",
                   message: "End date must be after start date"),
        InvalidRow(name: "bad time", change: { $0["messageTime"] = "25:00" }, field: "messageTime", message: "Invalid time format"),
        InvalidRow(name: "bad zone", change: { $0["timeZone"] = "Nairobi" }, field: "timeZone", message: "Invalid time zone"),
        InvalidRow(name: "nothing in the future", change: { $0["startDate"] = "2026-11-01"; $0["endDate"] = "2026-11-24" },
                   field: "endDate", message: "Campaign has no send times in the future"),
        InvalidRow(name: "sequence count", change: {
            $0["isRecurring"] = true; $0["recurrence"] = "DAILY"; $0["messageTemplate"] = "One * Two"
        }, field: "messageTemplate",
            message: "For the selected date range and daily recurrence, you need exactly 3 unique message(s) separated by "
                + "asterisks (*). Or remove the asterisks to use the same message for all occurrences."),
        InvalidRow(name: "group id for groups", change: { $0["groupId"] = "254700000000@c.us" }, field: "groupId",
                   message: "For audienceType groups, groupId must be a group chat id ending in @g.us"),
        InvalidRow(name: "missing template", change: { $0.removeValue(forKey: "messageTemplate") }, field: "messageTemplate",
                   message: "messageTemplate is required"),
        InvalidRow(name: "missing isRecurring", change: { $0.removeValue(forKey: "isRecurring") }, field: "isRecurring",
                   message: "isRecurring is required"),
        InvalidRow(name: "unknown session", change: { $0["sessionId"] = "nope" }, field: "sessionId",
                   message: "Unknown session: register it first with POST /api/sessions"),
        InvalidRow(name: "another user's session", change: { $0["sessionId"] = APIHarness.bobSession }, field: "sessionId",
                   message: "Unknown session: register it first with POST /api/sessions"),
        InvalidRow(name: "span", change: { $0["endDate"] = "2031-12-02" }, field: "endDate",
                   message: "A campaign may span at most 5 years"),
        InvalidRow(name: "unknown field", change: { $0["messageTemplat"] = "typo" }, field: "messageTemplat",
                   message: "Unknown field 'messageTemplat'"),
        InvalidRow(name: "string for bool", change: { $0["isRecurring"] = "yes" }, field: "isRecurring",
                   message: "isRecurring must be true or false"),
        InvalidRow(name: "number for bool", change: { $0["isFreeForm"] = 1 }, field: "isFreeForm",
                   message: "isFreeForm must be true or false"),
        InvalidRow(name: "number for string", change: { $0["groupId"] = 120363025 }, field: "groupId",
                   message: "groupId must be a string"),
        InvalidRow(name: "zero for bool", change: { $0["isRecurring"] = 0 }, field: "isRecurring",
                   message: "isRecurring must be true or false"),
        InvalidRow(name: "bool for string", change: { $0["targetAmount"] = true }, field: "targetAmount",
                   message: "targetAmount must be a string"),
        InvalidRow(name: "object for string", change: { $0["title"] = ["a": 1] }, field: "title", message: "title must be a string"),
        InvalidRow(name: "bad recurrence", change: { $0["recurrence"] = "HOURLY" }, field: "recurrence",
                   message: "Invalid recurrence: expected one of DAILY, WEEKLY, SEMI_MONTHLY, MONTHLY, SEMI_ANNUALLY, ANNUALLY"),
    ]

    @Test("invalid input is a 400 naming the field, and stores nothing", arguments: invalidRows)
    func invalidInput(_ row: InvalidRow) async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            var body = campaignBody()
            row.change(&body)
            for path in ["/api/campaigns", "/api/campaigns/preview"] {
                let response = try await api.call(.post, path, json: body)
                #expect(response.status == .badRequest)
                #expect(response.field == row.field)
                #expect(response.error == row.message)
                #expect(response.code != nil)
            }
            #expect(try await api.call(.get, "/api/campaigns").json == .array([]))
        }
    }

    @Test("malformed bodies are 400, never 500", arguments: [
        "", "{", "[]", "null", "42", "\"text\"", "{\"groupId\": }", "{'groupId': 'x'}", "{\"a\":1}{\"b\":2}",
        String(repeating: "[", count: 10_000),
    ])
    func malformedBodies(_ body: String) async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let response = try await api.call(.post, "/api/campaigns", body: body)
            #expect(response.status == .badRequest)
            #expect(response.code == "malformed_json")
            let isJSON = (try? JSONSerialization.jsonObject(with: Data(body.utf8), options: .fragmentsAllowed)) != nil
            let expected = isJSON ? "Request body must be a JSON object" : "Request body is not valid JSON"
            #expect(response.json["error"]?.string == expected, "\(body.prefix(20))")
        }
    }

    @Test("a body over 1 MiB is a 413")
    func oversizedBody() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            var body = campaignBody()
            body["messageTemplate"] = String(repeating: "x", count: 1_100_000)
            let response = try await api.call(.post, "/api/campaigns", json: body)
            #expect(response.status == .contentTooLarge)
            #expect(response.code == "body_too_large")
        }
    }

    @Test("nulls are treated as absent")
    func nullsAreAbsent() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign {
                $0["title"] = NSNull()
                $0["timeZone"] = NSNull()
                $0["recurrence"] = NSNull()
            }
            let campaign = try await api.call(.get, "/api/campaigns/\(id)").json
            #expect(campaign["title"]?.isNull == true)
            #expect(campaign["timeZone"]?.string == "UTC")
            #expect(campaign["recurrence"]?.string == "DAILY")
        }
    }
}
