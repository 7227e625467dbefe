import CrierService
import CrierStorage
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Dashboard: accounts, sign-in, CSRF, approval")
struct AccountPagesTests {
    @Test("first-run setup: only while no user exists, creates a signed-in admin, then is gone")
    func firstRunSetup() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let browser = Browser(client)
            let root = try await browser.get("/")
            #expect(root.status == .seeOther && root.location == "/setup")
            let setup = try await browser.get("/setup")
            #expect(setup.status == .ok)
            #expect(setup.body.contains("name=\"email\"") && setup.body.contains("name=\"password\""))
            #expect(setup.csrfField == browser.cookies["crier_csrf"])
            let proxied = try await client.execute(
                uri: "/setup", method: .get, headers: [.accept: "text/html", HTTPField.Name("X-Forwarded-For")!: "203.0.113.9"])
            #expect(proxied.status == .forbidden, "a proxy on loopback forwards someone else")

            let forged = try await browser.post("/setup", [("email", "x@example.com"), ("password", "password1")], csrf: "")
            #expect(forged.status == .forbidden && forged.body.contains("expired"))
            let short = try await browser.post("/setup", [("email", "root@example.com"), ("password", "short")])
            #expect(short.status == .badRequest && short.text(ofId: "password-error")?.contains("at least 8") == true)
            #expect(short.body.contains("value=\"root@example.com\""), "the form comes back filled in")

            let created = try await browser.post("/setup", [("email", "root@example.com"), ("password", "password1")])
            #expect(created.status == .seeOther && created.location == "/sessions")
            let cookie = try #require(created.setCookies.first { $0.hasPrefix("crier_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"))
            let users = try await harness.accounts.users()
            #expect(users.map(\.email) == ["root@example.com"] && users.first?.isAdmin == true)

            #expect(try await browser.get("/").status == .ok)
            #expect(try await browser.get("/setup").status == .notFound)
            let again = try await Browser(client).post("/setup", [("email", "y@example.com"), ("password", "password1")])
            #expect(again.status == .notFound)
            #expect(try await harness.accounts.users().count == 1)
        }
    }

    @Test("setup is refused to a peer that is not this machine")
    func setupOnlyFromLoopback() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        // The in-process router client has no peer address: not loopback.
        try await harness.run(.router) { client in
            let page = try await Browser(client).get("/setup")
            #expect(page.status == .forbidden && page.body.contains("crier user add --admin"))
        }
    }

    @Test("sign-in: wrong password, pending and revoked accounts, throttling, safe redirect, log-out")
    func signIn() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.addUser("pending@example.com", access: .pending)
        try await harness.addUser("gone@example.com", access: .revoked)
        try await harness.run { client in
            let browser = Browser(client)
            let page = try await browser.get("/login")
            #expect(page.status == .ok && page.body.contains("autocomplete=\"current-password\""))
            let wrong = try await browser.post("/login", [("email", "ada@example.com"), ("password", "nope-nope")])
            #expect(wrong.status == .unauthorized && wrong.body.contains("Wrong email or password"))
            #expect(browser.cookies["crier_session"] == nil)
            let unknown = try await browser.post("/login", [("email", "who@example.com"), ("password", "password1")])
            #expect(unknown.body.contains("Wrong email or password"), "unknown emails look like wrong passwords")
            let pending = try await browser.post("/login", [("email", "pending@example.com"), ("password", "password1")])
            #expect(pending.status == .unauthorized && pending.body.contains("waiting for an administrator"))
            let revoked = try await browser.post("/login", [("email", "gone@example.com"), ("password", "password1")])
            #expect(revoked.status == .unauthorized && revoked.body.contains("revoked"))
            let noToken = try await browser.post("/login", [("email", "ada@example.com"), ("password", "password1")], csrf: "")
            #expect(noToken.status == .forbidden)

            let redirected = try await browser.post(
                "/login", [("email", "ada@example.com"), ("password", "password1"), ("next", "//evil.example/")])
            #expect(redirected.status == .seeOther && redirected.location == "/")
            #expect(try await browser.get("/settings").status == .ok)
            let out = try await browser.post("/logout")
            #expect(out.status == .seeOther && out.location == "/login?notice=signed-out")
            #expect(browser.cookies["crier_session"] == nil)
            let after = try await browser.get("/settings")
            #expect(after.status == .seeOther && after.location == "/login?next=%2Fsettings")

            // Five failures in a row for one account hold it back for a while, whatever the password,
            // in a browser that never signed in to it (the owner's own is exempt: SignInHardeningTests).
            let stranger = Browser(client)
            for _ in 0..<5 { _ = try await stranger.post("/login", [("email", "ada@example.com"), ("password", "wrong-one")]) }
            let locked = try await stranger.post("/login", [("email", "ada@example.com"), ("password", "password1")])
            #expect(locked.status == .tooManyRequests && locked.body.contains("Too many failed sign-ins"))
            harness.clock.advance(by: 16 * 60)
            try await stranger.signIn("ada@example.com")

            // Twenty failures from one address, over any accounts, lock the address.
            let guesser = Browser(client)
            for index in 0..<20 {
                _ = try await guesser.post("/login", [("email", "user\(index)@example.com"), ("password", "guess-guess")])
            }
            let blocked = try await guesser.post("/login", [("email", "ada@example.com"), ("password", "password1")])
            #expect(blocked.status == .tooManyRequests)
        }
    }

    @Test("a stolen session cookie stops working at log-out; a made-up one is no one")
    func sessionCookies() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            try await browser.signIn("ada@example.com")
            let copy = Browser(client)
            copy.setCookie("crier_session", browser.cookies["crier_session"])
            #expect(try await copy.get("/settings").status == .ok)
            try await browser.post("/logout")
            #expect(try await copy.get("/settings").status == .seeOther)
            copy.setCookie("crier_session", "crier_" + String(repeating: "0", count: 64))
            #expect(try await copy.get("/settings").status == .seeOther)

            try await browser.signIn("ada@example.com")
            harness.clock.advance(by: AccountService.webSessionLifetime - 60)
            #expect(try await browser.get("/settings").status == .ok)
            harness.clock.advance(by: 61)
            #expect(try await browser.get("/settings").status == .seeOther, "a sign-in lasts a week")
        }
    }

    @Test("sign-up waits for approval; the admin approves, revokes (cookie and tokens stop) and deletes")
    func approval() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("root@example.com", isAdmin: true)
        try await harness.run { client in
            let newcomer = Browser(client)
            let signup = try await newcomer.post("/signup", [("email", "new@example.com"), ("password", "password1")])
            #expect(signup.status == .seeOther && signup.location == "/login?notice=awaiting-approval")
            let notice = try await newcomer.get("/login?notice=awaiting-approval")
            #expect(notice.body.contains("must approve a new account"))
            // A taken email gets the same answer (issue 20: sign-up must not tell who has an account).
            let taken = try await newcomer.post("/signup", [("email", "NEW@example.com"), ("password", "password1")])
            #expect(taken.status == .seeOther && taken.location == "/login?notice=awaiting-approval")
            #expect(try await harness.accounts.users().count == 2)
            let early = try await newcomer.post("/login", [("email", "new@example.com"), ("password", "password1")])
            #expect(early.status == .unauthorized)

            let admin = Browser(client)
            try await admin.signIn("root@example.com")
            let users = try await admin.get("/admin/users")
            #expect(users.status == .ok && users.body.contains("1 waiting for approval"))
            let newcomerId = try #require(try await harness.store.user(email: "new@example.com")?.publicId)
            let rootId = try #require(try await harness.store.user(email: "root@example.com")?.publicId)
            #expect(try await admin.post("/admin/users/\(newcomerId)/approve", csrf: "").status == .forbidden)
            #expect(try await admin.post("/admin/users/\(newcomerId)/approve").status == .seeOther)
            try await newcomer.signIn("new@example.com")
            #expect(try await newcomer.get("/admin/users").status == .forbidden, "only admins manage users")
            #expect(try await newcomer.post("/admin/users/\(rootId)/revoke").status == .forbidden)
            let token = try await harness.accounts.createToken(email: "new@example.com", label: nil)
            let api = try await client.execute(uri: "/api/campaigns", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(api.status == .ok)

            #expect(try await admin.post("/admin/users/\(newcomerId)/revoke").status == .seeOther)
            #expect(try await newcomer.get("/settings").status == .seeOther, "a revoked user's cookie stops working")
            let refused = try await client.execute(uri: "/api/campaigns", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(refused.status == .unauthorized, "and so do their API tokens")
            #expect(try await admin.post("/admin/users/\(rootId)/revoke").status == .conflict, "not yourself")
            #expect(try await admin.post("/admin/users/\(newcomerId)/frobnicate").status == .notFound)
            #expect(try await admin.post("/admin/users/\(newcomerId)/delete").status == .seeOther)
            #expect(try await harness.store.user(email: "new@example.com") == nil)
        }
    }

    @Test("API tokens: created on the settings page, shown once, usable, revocable")
    func tokens() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run { client in
            let browser = Browser(client)
            try await browser.signIn("ada@example.com")
            // Post, then redirect: reloading the page it lands on creates no second token.
            let posted = try await browser.post("/settings/tokens", [("label", "reminder <script>")])
            #expect(posted.status == .seeOther && posted.location == "/settings")
            let created = try await browser.get("/settings")
            let token = try #require(created.text(ofId: "new-token"))
            #expect(token.hasPrefix("crier_"))
            #expect(created.body.contains("reminder &lt;script&gt;") && !created.body.contains("reminder <script>"))
            let api = try await client.execute(uri: "/api/sessions", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(api.status == .ok)
            let listed = try await browser.get("/settings")
            #expect(!listed.body.contains(token), "shown once")
            let tokenId = try #require(try await harness.accounts.tokens(email: "ada@example.com").first?.id)
            #expect(try await browser.post("/settings/tokens/\(tokenId)/revoke", csrf: "").status == .forbidden)
            #expect(try await browser.post("/settings/tokens/\(tokenId)/revoke").status == .seeOther)
            let refused = try await client.execute(uri: "/api/sessions", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(refused.status == .unauthorized)
            #expect(try await browser.post("/settings/tokens/\(tokenId)/revoke").status == .notFound)
        }
    }

    @Test("every page sends a strict CSP and no inline script; cookies are Secure behind https")
    func securityHeaders() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run(configure: { $0.publicURL = "https://crier.example.org" }) { client in
            let browser = Browser(client)
            let login = try await browser.get("/login")
            let csp = try #require(login.headers[.contentSecurityPolicy])
            #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"))
            #expect(login.headers[.xContentTypeOptions] == "nosniff")
            #expect(login.contentType == "text/html; charset=utf-8")
            #expect(login.setCookies.allSatisfy { $0.contains("Secure") && $0.contains("HttpOnly") })
            try await browser.signIn("ada@example.com")
            for path in ["/", "/campaigns/new", "/sessions", "/settings"] {
                let page = try await browser.get(path)
                #expect(page.status == .ok, "\(path)")
                #expect(page.headers[.contentSecurityPolicy] == csp)
                let scripts = page.body.components(separatedBy: "<script").dropFirst()
                #expect(scripts.allSatisfy { $0.hasPrefix(" src=\"/assets/app.js\"") }, "no inline script on \(path)")
                #expect(page.body.contains("href=\"/openapi.yaml\""), "links to the API description")
            }
            let unknown = try await browser.get("/no/such/page")
            #expect(unknown.status == .notFound && unknown.contentType == "text/html; charset=utf-8")
            #expect(unknown.body.contains("<h1>Not Found</h1>"))
            let wrongMethod = try await browser.get("/logout")
            #expect(wrongMethod.status == .methodNotAllowed && wrongMethod.headers[.allow] == "POST")
            let apiMiss = try await browser.get("/api/nope")
            #expect(apiMiss.contentType?.hasPrefix("application/json") == true, "the API keeps JSON errors")
            let jsonClient = try await browser.get("/no/such/page", accept: "application/json")
            #expect(jsonClient.contentType?.hasPrefix("application/json") == true)
            let script = try await browser.get("/assets/app.js")
            #expect(script.status == .ok && script.contentType == "text/javascript; charset=utf-8")
            #expect(try await browser.get("/assets/nope.js").status == .notFound)
        }
    }
}
