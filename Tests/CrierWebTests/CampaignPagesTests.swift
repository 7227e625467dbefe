import CrierCore
import CrierService
import CrierStorage
import CrierTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Dashboard: campaigns and WhatsApp sessions")
struct CampaignPagesTests {
    /// Ada signed in with a session "ada-phone"; returns the session's id.
    static func signedInWithSession(_ browser: Browser, harness: WebHarness, email: String = "ada@example.com") async throws -> String {
        try await browser.signIn(email)
        let connected = try await browser.post("/sessions", [("name", email.hasPrefix("ada") ? "ada-phone" : "bob-phone")])
        guard connected.status == .seeOther, let location = connected.location else {
            throw WebTestError("connect failed: \(connected.status)")
        }
        return String(location.split(separator: "/").last ?? "")
    }

    @Test("pages that need a sign-in send the browser to it and come back")
    func authRedirects() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            let root = try await browser.get("/")
            #expect(root.status == .seeOther && root.location == "/login")
            for path in ["/campaigns/new", "/campaigns/abc", "/campaigns/abc/edit", "/sessions", "/sessions/x", "/settings", "/admin/users"] {
                let page = try await browser.get(path)
                #expect(page.status == .seeOther, "\(path)")
                #expect(page.location?.hasPrefix("/login?next=%2F") == true, "\(path): \(page.location ?? "")")
            }
            for path in ["/campaigns/preview", "/sessions", "/settings/tokens", "/campaigns/abc/delete"] {
                let page = try await browser.post(path)
                #expect(page.status == .seeOther && page.location == "/login?next=%2F", "\(path)")
            }
            // A campaign form being sent comes back after signing in (its script offers what was typed).
            let form = try await browser.post("/campaigns/new")
            #expect(form.status == .seeOther && form.location == "/login?next=%2Fcampaigns%2Fnew")
            let login = try await browser.get("/login?next=%2Fcampaigns%2Fnew")
            #expect(login.body.contains("name=\"next\" value=\"/campaigns/new\""))
            let signedIn = try await browser.post(
                "/login", [("email", "ada@example.com"), ("password", "password1"), ("next", "/campaigns/new")])
            #expect(signedIn.location == "/campaigns/new")
        }
    }

    @Test("every form post without the CSRF token, or with another one, is refused")
    func csrf() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            let session = try await Self.signedInWithSession(browser, harness: harness)
            let id = try #require(try await browser.post("/campaigns/new", campaignForm(session: session)).location?
                .split(separator: "/").last?.split(separator: "?").first.map(String.init))
            let forms = [
                "/logout", "/campaigns/new", "/campaigns/preview", "/campaigns/\(id)/edit", "/campaigns/\(id)/delete",
                "/sessions", "/sessions/\(session)/restart", "/sessions/\(session)/logout", "/sessions/\(session)/configure",
                "/settings/tokens", "/settings/tokens/x/revoke",
            ]
            let other = String(repeating: "ab", count: 32)
            for path in forms {
                for token in ["", other] {
                    let page = try await browser.post(path, campaignForm(session: session), csrf: token)
                    #expect(page.status == .forbidden, "\(path) with token '\(token.prefix(4))'")
                }
            }
            // A form cannot bring its own cookie-less token either: without the cookie, nothing matches.
            let cookieless = Browser(client)
            cookieless.setCookie("crier_session", browser.cookies["crier_session"])
            let page = try await cookieless.post("/campaigns/\(id)/delete", csrf: other)
            #expect(page.status == .forbidden)
            #expect(try await harness.store.campaign(id: id, ownerId: 1)?.deletedAt == nil, "nothing was deleted")
        }
    }

    @Test("create with preview: errors at their field, one campaign per chosen chat in one go, list with progress")
    func createAndList() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            let session = try await Self.signedInWithSession(browser, harness: harness)
            let form = try await browser.get("/campaigns/new")
            for field in ["groupId", "groupName", "sessionId", "audienceType", "title", "targetAmount", "startDate", "endDate",
                          "messageTime", "timeZone", "messageTemplate", "isFreeForm", "isRecurring", "recurrence"] {
                #expect(form.body.contains("name=\"\(field)\""), "form field \(field)")
            }
            #expect(form.body.contains("<option value=\"Asia/Kolkata\">"), "the zone list")

            var invalid = campaignForm(session: session)
            invalid.removeAll { $0.0 == "endDate" }
            invalid.append(("endDate", "2026-11-01"))
            let refused = try await browser.post("/campaigns/new", invalid)
            #expect(refused.status == .badRequest)
            #expect(refused.text(ofId: "endDate-error") == "End date must be after start date")
            #expect(refused.body.contains("value=\"Roof fund\""), "typed values come back")

            var previewForm = campaignForm(session: session)
            previewForm.removeAll { $0.0 == "intent" }
            let preview = try await browser.post("/campaigns/new", previewForm + [("intent", "preview")])
            #expect(preview.status == .ok && preview.body.contains("Preview: 3 message(s)"))
            #expect(preview.body.contains("Tue 1 Dec 2026, 09:30"))
            #expect(try await harness.store.campaigns(ownerId: 1, listing: .active, limit: 10, cursor: nil, includeMessages: false)
                .campaigns.isEmpty, "a preview stores nothing")

            let live = try await browser.post("/campaigns/preview", previewForm)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(live.body.utf8)) as? [String: Any])
            #expect((json["count"] as? Int) == 3 && (json["html"] as? String)?.contains("2 days left") == true)
            let liveError = try await browser.post("/campaigns/preview", invalid)
            let errors = try #require(try JSONSerialization.jsonObject(with: Data(liveError.body.utf8)) as? [String: Any])
            #expect((errors["errors"] as? [String: String]) == ["endDate": "End date must be after start date"])

            let several = try await browser.post(
                "/campaigns/new", campaignForm(session: session, groupIds: ["1@g.us", "2@g.us", "3@g.us"]))
            #expect(several.status == .seeOther && several.location == "/?notice=campaigns-created")
            let badOne = try await browser.post("/campaigns/new", campaignForm(session: session, groupIds: ["4@g.us", "not-a-group"]))
            #expect(badOne.status == .badRequest && badOne.text(ofId: "groupId-error")?.isEmpty == false)
            let list = try await browser.get("/")
            #expect(list.body.components(separatedBy: "data-campaign=").count - 1 == 3, "all or nothing: 3, not 4")
            #expect(list.body.contains("0 of 3 sent") && list.body.contains("max=\"3\" value=\"0\""))
            #expect(list.body.contains("Next: <time>Tue 1 Dec 2026, 09:30</time>"))
            #expect(list.body.contains("badge scheduled"))
            let completed = try await browser.get("/?tab=completed")
            #expect(completed.body.contains("No completed campaigns yet"))
        }
    }

    @Test("a campaign's page, edit only while nothing is sent, delete with confirmation")
    func showEditDelete() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            let session = try await Self.signedInWithSession(browser, harness: harness)
            let created = try await browser.post("/campaigns/new", campaignForm(session: session))
            let path = try #require(created.location?.split(separator: "?").first.map(String.init))
            let id = String(path.split(separator: "/").last ?? "")
            let page = try await browser.get(path)
            #expect(page.status == .ok && page.body.contains("<h1>Roof fund</h1>"))
            #expect(page.body.components(separatedBy: "badge pending").count - 1 == 3, "three scheduled messages")
            #expect(page.body.contains("2 days left") && page.body.contains("href=\"\(path)/edit\""))

            let edit = try await browser.get("\(path)/edit")
            #expect(edit.body.contains("value=\"Roof fund\"") && edit.body.contains("value=\"2026-12-01\""))
            var changed = campaignForm(session: session, title: "Roof fund, week two")
            changed.removeAll { $0.0 == "groupId" }
            changed.append(("groupId", "999@g.us"))
            let saved = try await browser.post("\(path)/edit", changed)
            #expect(saved.status == .seeOther && saved.location == "\(path)?notice=campaign-updated")
            let stored = try #require(try await harness.store.campaign(id: id, ownerId: 1))
            #expect(stored.settings.title == "Roof fund, week two" && stored.settings.groupId == "120363025@g.us",
                    "the chat cannot change")

            try await Self.markFirstSent(harness, campaignId: id)
            let locked = try await browser.get(path)
            #expect(!locked.body.contains("href=\"\(path)/edit\"") && locked.body.contains("Messages have gone out"))
            #expect(locked.body.contains("href=\"\(path)/upcoming\""), "the way to fix a running campaign")
            #expect(locked.body.contains("badge sent"))
            // An edit sent anyway (an old tab) comes back as typed, with the way forward; nothing changes.
            let late = try await browser.post("\(path)/edit", changed)
            #expect(late.status == .badRequest && late.body.contains("Correct the messages still to send instead"))
            #expect(late.body.contains("value=\"Roof fund, week two\""))
            #expect(try await browser.get("\(path)/edit").location == "\(path)/upcoming")

            let confirm = try await browser.get("\(path)/delete")
            #expect(confirm.status == .ok && confirm.body.contains("2 message(s) not yet sent will be cancelled"))
            let deleted = try await browser.post("\(path)/delete")
            #expect(deleted.status == .seeOther && deleted.location == "/?notice=campaign-deleted")
            #expect(!(try await browser.get("/")).body.contains(id))
            #expect(try await harness.store.campaign(id: id, ownerId: 1)?.deletedAt != nil)
        }
    }

    @Test("user text is escaped in HTML and in attributes")
    func escaping() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            let session = try await Self.signedInWithSession(browser, harness: harness)
            let hostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
            var form = campaignForm(session: session, title: hostile)
            form.removeAll { $0.0 == "messageTemplate" }
            form.append(("messageTemplate", "{days_left} <b onmouseover=alert(3)>left</b>"))
            let created = try await browser.post("/campaigns/new", form)
            let path = try #require(created.location?.split(separator: "?").first.map(String.init))
            for page in [try await browser.get("/"), try await browser.get(path), try await browser.get("\(path)/edit")] {
                #expect(!page.body.contains("<script>alert(1)"))
                #expect(!page.body.contains("<img src=x"))
                #expect(!page.body.contains("<b onmouseover"))
                #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;"))
            }
            let edit = try await browser.get("\(path)/edit")
            #expect(edit.body.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;"), "in attributes too")
        }
    }

    @Test("another user's campaigns and sessions are not found; nothing of theirs is listed")
    func isolation() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.addUser("bob@example.com")
        try await harness.run { client in
            let ada = Browser(client)
            let session = try await Self.signedInWithSession(ada, harness: harness)
            let path = try #require(try await ada.post("/campaigns/new", campaignForm(session: session)).location?
                .split(separator: "?").first.map(String.init))
            let bob = Browser(client)
            try await bob.signIn("bob@example.com")
            #expect(!(try await bob.get("/")).body.contains("data-campaign="))
            #expect(!(try await bob.get("/sessions")).body.contains("ada-phone"))
            for page in [path, "\(path)/edit", "\(path)/delete", "/sessions/\(session)", "/sessions/\(session)/status"] {
                let answer = try await bob.get(page)
                #expect(answer.status == .notFound, "\(page)")
            }
            let notFound = try await bob.get(path)
            #expect(notFound.contentType == "text/html; charset=utf-8" && notFound.body.contains("not found or access denied"))
            #expect(try await bob.post("\(path)/delete").status == .notFound)
            #expect(try await bob.post("\(path)/edit", campaignForm(session: session)).status == .notFound)
            #expect(try await bob.post("/sessions/\(session)/logout").status == .notFound)
            let preview = try await bob.post("/campaigns/preview", campaignForm(session: session))
            #expect(preview.body.contains("\"sessionId\""), "ada's session is unknown to bob")
            let taken = try await bob.post("/sessions", [("name", "ada-phone")])
            #expect(taken.status == .conflict && taken.text(ofId: "name-error")?.contains("another user") == true)
        }
    }

    @Test("sessions: connect, status, restart; the console gateway says on every page that nothing is sent")
    func sessions() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            let empty = try await browser.get("/login")
            #expect(empty.body.contains("not sent to WhatsApp"))
            let session = try await Self.signedInWithSession(browser, harness: harness)
            let page = try await browser.get("/sessions/\(session)")
            // Statuses in words for the organiser; the gateway's own name stays in data-status.
            #expect(page.body.contains("id=\"status-badge\">Connected") && page.body.contains("data-status=\"WORKING\""))
            #expect(page.body.contains("not sent to WhatsApp"))
            let status = try await browser.get("/sessions/\(session)/status", accept: "application/json")
            #expect(status.body.contains("\"status\":\"WORKING\""))
            let restarted = try await browser.post("/sessions/\(session)/restart")
            #expect(restarted.location == "/sessions/\(session)?notice=session-restarted")
            let bad = try await browser.post("/sessions", [("name", "bad name!")])
            #expect(bad.status == .badRequest && bad.text(ofId: "name-error")?.contains("letters, digits") == true)
            let qr = try await browser.get("/sessions/\(session)/qr")
            #expect(qr.status == .conflict, "the console gateway has no QR code")
        }
    }

    @Test("through WAHA: pair by QR code until WORKING, pick a group from the gateway's list by name")
    func throughWAHA() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await WAHADouble.withRunning { double in
            try await harness.run(configure: { $0.gateway = .waha(url: double.baseURL, apiKey: nil) }) { client in
                let browser = Browser(client)
                let session = try await Self.signedInWithSession(browser, harness: harness)
                double.setSessionStatus("ada-phone", .scanQRCode)
                let pairing = try await browser.get("/sessions/\(session)")
                #expect(pairing.body.contains("id=\"status-badge\">Scan the QR code"))
                #expect(pairing.body.contains("<img src=\"/sessions/\(session)/qr?t="))
                #expect(!pairing.body.contains("not sent to WhatsApp"), "no console warning with a real gateway")
                let qr = try await browser.get("/sessions/\(session)/qr", accept: "image/png")
                #expect(qr.status == .ok && qr.contentType == "image/png")
                double.setSessionStatus("ada-phone", .working)
                let status = try await browser.get("/sessions/\(session)/status", accept: "application/json")
                #expect(status.body.contains("\"working\":true"))
                let paired = try await browser.get("/sessions/\(session)")
                #expect(!paired.body.contains("<img") && paired.body.contains("Connected"))

                let form = try await browser.get("/campaigns/new?sessionId=\(session)&audienceType=groups")
                #expect(form.body.contains("name=\"groupId\" value=\"120363025@g.us\"") && form.body.contains("Church choir"))
                let created = try await browser.post("/campaigns/new", campaignForm(session: session))
                let id = try #require(created.location?.split(separator: "/").last?.split(separator: "?").first.map(String.init))
                let stored = try #require(try await harness.store.campaign(id: id, ownerId: 1))
                #expect(stored.settings.groupName == "Church choir", "named from the gateway's list")
            }
        }
    }

    /// Stands in for the dispatcher: the campaign's first message is sent.
    static func markFirstSent(_ harness: WebHarness, campaignId: String) async throws {
        let due = Date(iso: "2026-12-01T06:30:00Z")
        let claims = try await harness.store.claimDueMessages(
            now: due, limit: 1, owner: "test", leaseUntil: due.addingTimeInterval(60))
        let claim = try #require(claims.first)
        let log = AttemptLog(
            startedAt: due, finishedAt: due.addingTimeInterval(1), outcome: .sent, gatewayStatus: 201, reason: nil,
            attempted: true)
        #expect(try await harness.store.recordOutcome(
            claim, .sent(gatewayMessageId: GatewayMessageId(full: "true_1@g.us_ABC", raw: "ABC")), log: log))
    }
}
