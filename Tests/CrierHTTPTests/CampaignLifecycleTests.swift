import CrierTestSupport
import Foundation
import HTTPTypes
import Testing

@Suite("Campaign lists, updates, deletes and tenancy")
struct CampaignLifecycleTests {
    @Test("active and completed lists split on open messages; lists omit messages unless asked")
    func lists() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let done = try await api.createCampaign { $0["endDate"] = "2026-12-01" }
            let open = try await api.createCampaign()
            try await harness.setMessageStatus(.sent, campaignId: done)

            let active = try await api.call(.get, "/api/campaigns")
            #expect(active.status == .ok)
            #expect(active.json.array?.compactMap { $0["id"]?.string } == [open])
            #expect(active.json[0]?["messages"] == nil)
            #expect(active.json[0]?["status"]?.string == "SCHEDULED")

            let completed = try await api.call(.get, "/api/campaigns/completed?include=messages")
            #expect(completed.json.array?.compactMap { $0["id"]?.string } == [done])
            #expect(completed.json[0]?["status"]?.string == "COMPLETED")
            #expect(completed.json[0]?["messages"]?[0]?["isSent"]?.bool == true)
        }
    }

    @Test("lists are newest first and paged with limit and X-Next-Cursor")
    func paging() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            var ids: [String] = []
            for _ in 0..<5 { ids.append(try await api.createCampaign()) }
            var seen: [String] = []
            var uri = "/api/campaigns?limit=2"
            var pages = 0
            while true {
                let page = try await api.call(.get, uri)
                seen += page.json.array?.compactMap { $0["id"]?.string } ?? []
                pages += 1
                guard let next = page.headers[.init("X-Next-Cursor")!] else { break }
                uri = "/api/campaigns?limit=2&cursor=\(next)"
            }
            #expect(seen == ids.reversed())
            #expect(pages == 3)
        }
    }

    @Test("bad list parameters are 400 naming the parameter", arguments: [
        ("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"), ("cursor=abc", "cursor"),
        ("include=everything", "include"),
    ])
    func badListParameters(_ query: String, _ field: String) async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let response = try await api.call(.get, "/api/campaigns?\(query)")
            #expect(response.status == .badRequest)
            #expect(response.field == field)
        }
    }

    @Test("updateCampaign replaces the schedule and keeps chat and session")
    func update() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign()
            var body = updateBody()
            body["endDate"] = "2026-12-05"
            body["messageTime"] = "8:00"
            body["title"] = "New roof"
            let response = try await api.call(.put, "/api/campaigns/\(id)", json: body)
            #expect(response.status == .ok)
            #expect(response.json["success"]?.bool == true)
            #expect(response.json["campaignId"]?.string == id)

            let campaign = try await api.call(.get, "/api/campaigns/\(id)").json
            #expect(campaign["title"]?.string == "New roof")
            #expect(campaign["messageTime"]?.string == "08:00")
            #expect(campaign["group"]?["groupId"]?.string == "120363025@g.us")
            #expect(campaign["progress"]?["total"]?.int == 5)
            #expect(campaign["sendTimeUtc"]?.string == "2026-12-01T05:00:00Z")
            #expect(campaign["messages"]?[0]?["content"]?.string?.hasPrefix("Campaign Title: New roof\n") == true)
        }
    }

    @Test("updateCampaign rejects the fields it does not take")
    func updateRejectsChatChange() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign()
            let response = try await api.call(.put, "/api/campaigns/\(id)", json: campaignBody())
            #expect(response.status == .badRequest)
            #expect(response.code == "unknown_field")
            #expect(response.field == "groupId")
            #expect(response.error == "groupId cannot be changed: a campaign keeps its chat and session")
        }
    }

    @Test("updateCampaign validates like create")
    func updateValidates() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign()
            var body = updateBody()
            body["messageTime"] = "noon"
            let response = try await api.call(.put, "/api/campaigns/\(id)", json: body)
            #expect(response.status == .badRequest)
            #expect(response.error == "Invalid time format")
            #expect(try await api.call(.get, "/api/campaigns/\(id)").json["messageTime"]?.string == "09:30", "unchanged")
        }
    }

    @Test("updateCampaign is refused once a message is sent or being sent", arguments: ["sent", "sending"])
    func updateAfterSend(_ status: String) async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign()
            try await harness.setMessageStatus(status == "sent" ? .sent : .sending, campaignId: id)
            let body = updateBody()
            let response = try await api.call(.put, "/api/campaigns/\(id)", json: body)
            #expect(response.status == .conflict)
            #expect(response.error == "Cannot edit campaign with messages that have already been sent")
            #expect(response.code == "campaign_already_sent")
        }
    }

    @Test("deleteCampaign cancels the campaign; it leaves the lists but stays readable")
    func delete() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign()
            let response = try await api.call(.delete, "/api/campaigns/\(id)")
            #expect(response.status == .ok)
            #expect(response.json == .object(["success": .bool(true)]))
            let campaign = try await api.call(.get, "/api/campaigns/\(id)").json
            #expect(campaign["status"]?.string == "CANCELLED")
            #expect(campaign["messages"]?.array?.allSatisfy { $0["status"]?.string == "cancelled" } == true)
            #expect(try await api.call(.get, "/api/campaigns").json == .array([]))
            #expect(try await api.call(.get, "/api/campaigns/completed").json == .array([]))
            #expect(try await api.call(.delete, "/api/campaigns/\(id)").status == .ok, "deleting twice succeeds")

            let body = updateBody()
            let update = try await api.call(.put, "/api/campaigns/\(id)", json: body)
            #expect(update.status == .conflict)
            #expect(update.error == "Cannot edit a deleted campaign")
        }
    }

    @Test("another user's campaign cannot be read, updated or deleted, and never shows in lists")
    func tenancy() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign(as: .ada)
            let body = updateBody()
            let attempts = [
                try await api.call(.get, "/api/campaigns/\(id)", as: .bob),
                try await api.call(.put, "/api/campaigns/\(id)", as: .bob, json: body),
                try await api.call(.delete, "/api/campaigns/\(id)", as: .bob),
                try await api.call(.get, "/api/campaigns/no-such-id", as: .ada),
            ]
            for response in attempts {
                #expect(response.status == .notFound)
                #expect(response.error == "Campaign not found or access denied")
            }
            #expect(try await api.call(.get, "/api/campaigns", as: .bob).json == .array([]))
            #expect(try await api.call(.get, "/api/campaigns/completed", as: .bob).json == .array([]))
            let mine = try await api.call(.get, "/api/campaigns/\(id)", as: .ada).json
            #expect(mine["status"]?.string == "SCHEDULED", "untouched by bob's attempts")
        }
    }
}

@Suite("Authentication")
struct AuthenticationTests {
    @Test("every /api route needs a valid bearer token", arguments: [
        Caller.anonymous, .token("Bearer crier_0000"), .token("Basic YWRhOnBhc3N3b3Jk"), .token("Bearer"),
    ])
    func unauthorized(_ caller: Caller) async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            for (method, path) in [
                (HTTPRequest.Method.get, "/api/campaigns"), (.post, "/api/campaigns"), (.get, "/api/campaigns/x"),
                (.delete, "/api/campaigns/x"), (.get, "/api/sessions"), (.post, "/api/campaigns/preview"),
            ] {
                let response = try await api.call(method, path, as: caller, body: "{}")
                #expect(response.status == .unauthorized, "\(path)")
                #expect(response.code == "unauthorized")
            }
        }
    }
}

extension Caller: CustomTestStringConvertible {
    var testDescription: String {
        switch self {
        case .ada: "ada"
        case .bob: "bob"
        case .anonymous: "no header"
        case .token(let value): value
        }
    }
}
