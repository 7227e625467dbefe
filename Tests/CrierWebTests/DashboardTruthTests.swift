import CrierCore
import CrierService
import CrierStorage
import CrierTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Issue 21, route by route: the dashboard tells the truth (attention, a banner for a number that is
/// not connected), keeps what was typed, words its errors as the form does, and lets a running
/// campaign and a forgotten password be fixed.
@Suite("Dashboard: the truth, kept forms, corrections, passwords")
struct DashboardTruthTests {
    @Test("a missed message shows '1 missed' on the card and the page; a disconnected number is a banner on every page")
    func attentionAndBanner() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            let session = try await CampaignPagesTests.signedInWithSession(browser, harness: harness)
            let created = try await browser.post("/campaigns/new", campaignForm(session: session))
            let id = try #require(created.location?.split(separator: "/").last?.split(separator: "?").first.map(String.init))
            try await harness.store.forceStatus(.missed, campaignId: id, occurrence: 0)
            let list = try await browser.get("/")
            #expect(list.body.contains("attention-item missed\">1 missed</li>"), "the card says it")
            let fragment = try await browser.get("/?fragment=list&tab=active")
            #expect(fragment.body.contains("1 missed") && !fragment.body.contains("<html"), "the live part alone")
            let page = try await browser.get("/campaigns/\(id)")
            #expect(page.body.contains("id=\"campaign-attention\"") && page.body.contains("1 missed"))
            #expect(page.body.contains("data-live=\"/campaigns/\(id)?fragment=detail&amp;page=1\""))

            #expect(!list.body.contains("is not connected"), "a connected number: no banner")
            try await harness.store.recordSessionStatus(name: "ada-phone", status: "SCAN_QR_CODE")
            // The numbers page asks the gateway (here the console gateway, always connected): it comes last.
            for path in ["/", "/settings", "/campaigns/\(id)", "/live/banner", "/sessions"] {
                let banner = try await browser.get(path)
                #expect(banner.body.contains("<strong>ada-phone</strong> is not connected (waiting for its QR code to be scanned)"), "\(path)")
                if path == "/" { #expect(banner.body.contains("Number disconnected"), "and the campaign says its messages wait") }
            }
            #expect(!(try await browser.get("/")).body.contains("is not connected"), "connected again, as the gateway said")
        }
    }

    @Test("the form keeps every typed field when the number or audience changes; with several numbers none is pre-chosen")
    func formsKeepWhatWasTyped() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        let ada = try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            let first = try await CampaignPagesTests.signedInWithSession(browser, harness: harness)
            let one = try await browser.get("/campaigns/new")
            #expect(one.body.contains("<option value=\"\(first)\" selected>"), "one number: it is chosen")
            let second = try await harness.store.registerSession(name: "ada-second", ownerId: ada.id, at: harness.clock.now()).session
            let two = try await browser.get("/campaigns/new")
            #expect(two.body.contains("<option value=\"\">Choose a number</option>") && !two.body.contains("selected>Number"),
                    "several numbers: none chosen for her")
            var typed = campaignForm(session: second.id, title: "Choir dues")
            typed.removeAll { $0.0 == "intent" || $0.0 == "audienceType" }
            let switched = try await browser.post("/campaigns/new", typed + [("audienceType", "individuals"), ("intent", "chats")])
            #expect(switched.status == .ok)
            for kept in ["value=\"Choir dues\"", "value=\"KES 50,000\"", "value=\"2026-12-01\"", "{days_left} days left"] {
                #expect(switched.body.contains(kept), "kept: \(kept)")
            }
            #expect(switched.body.contains("<option value=\"\(second.id)\" selected>"))
            #expect(switched.body.contains("<option value=\"individuals\" selected>"))
            let chats = try await browser.get("/campaigns/new/chats?sessionId=\(first)&audienceType=groups")
            #expect(chats.body.contains("<fieldset>") && !chats.body.contains("<html"))
            let unchosen = try await browser.post("/campaigns/new", campaignForm(session: ""))
            #expect(unchosen.text(ofId: "sessionId-error") == "Choose the WhatsApp number to send from.")
        }
    }

    @Test("creating on a number that is not connected warns first, and goes ahead once confirmed")
    func warnsBeforeDisconnected() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await WAHADouble.withRunning { double in
            try await harness.run(configure: { $0.gateway = .waha(url: double.baseURL, apiKey: nil) }) { client in
                let browser = Browser(client)
                let session = try await CampaignPagesTests.signedInWithSession(browser, harness: harness)
                double.setSessionStatus("ada-phone", .scanQRCode)
                let warned = try await browser.post("/campaigns/new", campaignForm(session: session))
                #expect(warned.status == .ok && warned.body.contains("id=\"not-working-warning\""))
                #expect(warned.body.contains("name=\"confirmNotWorking\"") && warned.body.contains("value=\"Roof fund\""))
                #expect(try await harness.store.campaigns(ownerId: 1, listing: .active, limit: 5, cursor: nil, includeMessages: false)
                    .campaigns.isEmpty, "nothing created yet")
                let confirmed = try await browser.post("/campaigns/new", campaignForm(session: session) + [("confirmNotWorking", "on")])
                #expect(confirmed.status == .seeOther)
            }
        }
    }

    @Test("errors in the form's words; an unknown zone suggests one; the preview shows the error and the default zone")
    func wordingAndPreview() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run(configure: { $0.defaultTimeZone = "Africa/Nairobi" }) { client in
            let browser = Browser(client)
            let session = try await CampaignPagesTests.signedInWithSession(browser, harness: harness)
            var noText = campaignForm(session: session)
            noText.removeAll { $0.0 == "messageTemplate" }
            let missing = try await browser.post("/campaigns/new", noText)
            #expect(missing.text(ofId: "messageTemplate-error") == "Message is required")
            var nairobi = campaignForm(session: session)
            nairobi.removeAll { $0.0 == "timeZone" }
            let zone = try await browser.post("/campaigns/new", nairobi + [("timeZone", "Nairobi")])
            #expect(zone.text(ofId: "timeZone-error")?.contains("Did you mean Africa/Nairobi?") == true)

            var preview = campaignForm(session: session)
            preview.removeAll { $0.0 == "intent" || $0.0 == "timeZone" }
            let live = try await browser.post("/campaigns/preview", preview + [("timeZone", "")])
            #expect(live.body.contains("Tue 1 Dec 2026, 09:30"), "no zone typed: the server's default, as the campaign will use")
            var broken = preview
            broken.removeAll { $0.0 == "endDate" }
            let failed = try await browser.post("/campaigns/preview", broken + [("endDate", "2026-11-01")])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(failed.body.utf8)) as? [String: Any])
            #expect((json["html"] as? String)?.contains("Nothing to show until this is fixed: End date must be after start date") == true,
                    "the preview shows the error, not the last good messages")
        }
    }

    @Test("a running campaign's upcoming messages are corrected from its page; a long campaign pages its messages")
    func correctAndPage() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            let session = try await CampaignPagesTests.signedInWithSession(browser, harness: harness)
            let created = try await browser.post("/campaigns/new", campaignForm(session: session))
            let id = try #require(created.location?.split(separator: "/").last?.split(separator: "?").first.map(String.init))
            try await CampaignPagesTests.markFirstSent(harness, campaignId: id)
            let form = try await browser.get("/campaigns/\(id)/upcoming")
            #expect(form.status == .ok && form.body.contains("2 message(s) still to send"))
            let done = try await browser.post(
                "/campaigns/\(id)/upcoming",
                [("title", "Roof fund"), ("targetAmount", "KES 50,000"), ("messageTemplate", "Paybill 5678: {days_left} to go")])
            #expect(done.location == "/campaigns/\(id)?notice=upcoming-corrected-2")
            let page = try await browser.get("/campaigns/\(id)?notice=upcoming-corrected-2")
            #expect(page.body.contains("2 upcoming message(s) corrected.") && page.body.contains("Paybill 5678: 1 to go"))

            var year = campaignForm(session: session, title: "A year")
            year.removeAll { $0.0 == "endDate" }
            let long = try await browser.post("/campaigns/new", year + [("endDate", "2027-06-30")])
            let longId = try #require(long.location?.split(separator: "/").last?.split(separator: "?").first.map(String.init))
            let first = try await browser.get("/campaigns/\(longId)")
            #expect(first.body.components(separatedBy: "<tr data-message=").count - 1 == 50, "fifty a page")
            #expect(first.body.contains("Messages 1–50 of 212") && first.body.contains("?page=2\">Later messages"))
            let last = try await browser.get("/campaigns/\(longId)?page=5")
            #expect(last.body.components(separatedBy: "<tr data-message=").count - 1 == 12)
        }
    }

    @Test("password: changed in settings (current one required, other sign-ins end); a reset link works once, for an hour")
    func passwords() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("root@example.com", isAdmin: true)
        let ada = try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            try await browser.signIn("ada@example.com")
            let other = Browser(client)
            try await other.signIn("ada@example.com")
            let wrong = try await browser.post("/settings/password", [("currentPassword", "nope nope"), ("newPassword", "a new password")])
            #expect(wrong.status == .badRequest && wrong.text(ofId: "currentPassword-error") == "The current password is not right")
            let short = try await browser.post("/settings/password", [("currentPassword", WebHarness.password), ("newPassword", "short")])
            #expect(short.text(ofId: "newPassword-error") == "New password must be at least 8 characters")
            let changed = try await browser.post(
                "/settings/password", [("currentPassword", WebHarness.password), ("newPassword", "a new password")])
            #expect(changed.location == "/settings?notice=password-changed")
            #expect(try await browser.get("/settings").status == .ok, "this sign-in goes on")
            #expect(try await other.get("/settings").status == .seeOther, "the other one ended")
            try await Browser(client).signIn("ada@example.com", password: "a new password")

            let admin = Browser(client)
            try await admin.signIn("root@example.com")
            let issued = try await admin.post("/admin/users/\(ada.publicId)/reset-link")
            #expect(issued.location == "/admin/users")
            let users = try await admin.get("/admin/users")
            let link = try #require(users.text(ofId: "reset-link"))
            #expect(!(try await admin.get("/admin/users")).body.contains(link), "shown once")
            let path = String(link[try #require(link.range(of: "/reset/")).lowerBound...])
            let visitor = Browser(client)
            #expect(try await visitor.get(path).status == .ok)
            let reset = try await visitor.post(path, [("newPassword", "reset password 1")])
            #expect(reset.location == "/login?notice=password-reset")
            #expect(try await browser.get("/settings").status == .seeOther, "every sign-in ended")
            try await Browser(client).signIn("ada@example.com", password: "reset password 1")
            let again = try await visitor.post(path, [("newPassword", "reset password 2")])
            #expect(again.status == .notFound && again.body.contains("has been used or has expired"), "single use")

            _ = try await admin.post("/admin/users/\(ada.publicId)/reset-link")
            let late = try #require(try await admin.get("/admin/users").text(ofId: "reset-link"))
            harness.clock.advance(by: AccountService.resetLinkLifetime + 1)
            let latePath = String(late[try #require(late.range(of: "/reset/")).lowerBound...])
            let expired = try await visitor.post(latePath, [("newPassword", "reset password 3")])
            #expect(expired.status == .notFound, "an hour, no more")
        }
    }
}
