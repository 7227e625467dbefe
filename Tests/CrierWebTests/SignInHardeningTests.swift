import CrierCore
import CrierService
import CrierStorage
import CrierTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Issue 20, items 4, 5, 7, 9 and 10: the sign-in throttle under parallel guesses and by network,
/// the owner never locked out, sign-up bounded and silent about who exists, `next` and CSRF.
@Suite("Dashboard: sign-in and sign-up hardening")
struct SignInHardeningTests {
    // MARK: The throttle itself

    @Test("attempts are counted before their password is checked: the sixth concurrent one waits")
    func reserveThenSettle() async throws {
        let clock = ManualClock("2026-11-25T10:00:00Z")
        let throttle = SignInThrottle(clock: clock)
        var admitted: [SignInThrottle.Attempt] = []
        for _ in 0..<5 {
            guard case .admitted(let attempt) = await throttle.admit(account: "ada@example.com", address: "203.0.113.7", device: nil)
            else { Issue.record("the first five are admitted"); return }
            admitted.append(attempt)
        }
        guard case .wait(let wait) = await throttle.admit(account: "ADA@example.com ", address: "198.51.100.1", device: nil)
        else { Issue.record("five unsettled attempts count as five failures"); return }
        #expect(wait >= 1)
        // One of them was right: its success forgives the account's failures.
        await throttle.settle(admitted[4], outcome: .succeeded)
        guard case .admitted = await throttle.admit(account: "ada@example.com", address: "198.51.100.1", device: nil) else {
            Issue.record("a success clears the account"); return
        }
    }

    @Test("the per-account limit is a growing delay, and a browser the owner used before is exempt")
    func growingDelayAndDevice() async throws {
        let clock = ManualClock("2026-11-25T10:00:00Z")
        let throttle = SignInThrottle(clock: clock)
        let device = await throttle.deviceCookie(for: "ada@example.com")
        func fail(from address: String) async -> TimeInterval? {
            switch await throttle.admit(account: "ada@example.com", address: address, device: nil) {
            case .wait(let seconds): return seconds
            case .admitted(let attempt):
                await throttle.settle(attempt, outcome: .wrongPassword)
                return nil
            }
        }
        for index in 0..<5 { #expect(await fail(from: "203.0.113.\(index)") == nil) }
        #expect(await fail(from: "203.0.113.9") == 1, "then a second")
        clock.advance(by: 1)
        #expect(await fail(from: "203.0.113.9") == nil)
        #expect(await fail(from: "203.0.113.9") == 2, "then two")
        clock.advance(by: 2)
        #expect(await fail(from: "203.0.113.9") == nil)
        #expect(await fail(from: "203.0.113.9") == 4, "then four: a guesser slows down fast")
        guard case .admitted = await throttle.admit(account: "ada@example.com", address: "198.51.100.1", device: device) else {
            Issue.record("the owner's own browser is never held back by a stranger's failures"); return
        }
        guard case .wait = await throttle.admit(account: "ada@example.com", address: "198.51.100.1", device: "forged") else {
            Issue.record("a made-up device cookie is no device"); return
        }
        guard case .wait = await throttle.admit(
            account: "ada@example.com", address: "198.51.100.1", device: await throttle.deviceCookie(for: "bob@example.com"))
        else { Issue.record("another account's device cookie is no device for this one"); return }
    }

    @Test("addresses are counted by network: one IPv6 /64 or all of loopback is one client")
    func networks() async throws {
        let throttle = SignInThrottle(clock: ManualClock("2026-11-25T10:00:00Z"))
        func tries(_ address: String, account: String) async -> Bool {
            guard case .admitted(let attempt) = await throttle.admit(account: account, address: address, device: nil) else { return false }
            await throttle.settle(attempt, outcome: .wrongPassword)
            return true
        }
        for index in 1...20 { #expect(await tries("2001:db8:1:2::\(index)", account: "u\(index)@example.com")) }
        #expect(await !tries("2001:db8:1:2::ffff", account: "other@example.com"), "the same /64")
        #expect(await tries("2001:db8:1:3::1", account: "other@example.com"), "the next /64 is someone else")
        for index in 1...20 { #expect(await tries("127.0.0.\(index + 1)", account: "l\(index)@example.com")) }
        #expect(await !tries("127.9.9.9", account: "other@example.com"), "every 127.x is the same machine")
    }

    // MARK: Through the pages

    @Test("40 guesses at once, the right password last: refused, and at most five were checked")
    func parallelGuesses() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        // A real work factor, so the guesses overlap while their hashes are checked.
        _ = try await AccountService(store: harness.store, clock: harness.clock, passwordHashCost: 10)
            .addUser(email: "ada@example.com", name: nil, password: WebHarness.password, isAdmin: false)
        try await harness.run(.router) { client in
            let browser = Browser(client)
            try await browser.get("/login")
            let statuses = try await withThrowingTaskGroup(of: (Bool, HTTPResponse.Status).self) { group in
                for index in 0..<39 {
                    group.addTask {
                        (false, try await browser.post("/login", [("email", "ada@example.com"), ("password", "guess-\(index)")]).status)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(30))
                    return (true, try await browser.post("/login", [("email", "ada@example.com"), ("password", WebHarness.password)]).status)
                }
                var all: [(Bool, HTTPResponse.Status)] = []
                for try await result in group { all.append(result) }
                return all
            }
            let right = statuses.first { $0.0 }?.1
            #expect(right == .tooManyRequests, "the right password, sent last, is refused: \(String(describing: right))")
            #expect(statuses.filter { $0.1 == .unauthorized }.count <= 5, "checked: \(statuses.map(\.1.code))")
            #expect(browser.cookies["crier_session"] == nil)
        }
    }

    @Test("five wrong passwords by a stranger never keep the owner's browser out")
    func ownerNotLockedOut() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run(.router) { client in
            let owner = Browser(client)
            try await owner.signIn("ada@example.com")
            #expect(owner.cookies["crier_device"] != nil, "a sign-in marks the browser")
            try await owner.post("/logout")
            let stranger = Browser(client)
            for _ in 0..<6 { try await stranger.post("/login", [("email", "ada@example.com"), ("password", "wrong-guess")]) }
            let locked = try await stranger.post("/login", [("email", "ada@example.com"), ("password", WebHarness.password)])
            #expect(locked.status == .tooManyRequests)
            try await owner.signIn("ada@example.com")
        }
    }

    @Test("behind a trusted proxy each forwarded client has its own count; from anyone else X-Forwarded-For is ignored")
    func trustedProxy() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        @Sendable func guesses(_ browser: Browser, from client: String) async throws -> [HTTPResponse.Status] {
            var statuses: [HTTPResponse.Status] = []
            for index in 0..<21 {
                statuses.append(try await browser.post(
                    "/login", [("email", "u\(index)@\(client).example"), ("password", "guess-guess")],
                    headers: [HTTPField.Name("X-Forwarded-For")!: "198.51.100.200, \(client)"]).status)
            }
            return statuses
        }
        try await harness.run(configure: { $0.trustedProxies = [IPNetwork("127.0.0.1")!] }) { client in
            let browser = Browser(client)
            let first = try await guesses(browser, from: "203.0.113.1")
            #expect(first.last == .tooManyRequests)
            let second = try await guesses(browser, from: "203.0.113.2")
            #expect(second.first == .unauthorized, "another client behind the proxy")
        }
        try await harness.run { client in
            let browser = Browser(client)
            _ = try await guesses(browser, from: "203.0.113.3")
            let after = try await guesses(browser, from: "203.0.113.4")
            #expect(after.first == .tooManyRequests, "without --trusted-proxy the header means nothing")
        }
    }

    @Test("sign-up: a few per network, the same answer for a taken email, closed while many wait")
    func signUp() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        let existing = try await harness.addUser("ada@example.com")
        try await harness.run(.router) { client in
            let browser = Browser(client)
            let taken = try await browser.post("/signup", [("email", "ada@example.com"), ("password", "another password")])
            let fresh = try await browser.post("/signup", [("email", "new@example.com"), ("password", "another password")])
            #expect(taken.status == fresh.status && taken.location == fresh.location, "a taken email looks like any other")
            #expect(taken.location == "/login?notice=awaiting-approval")
            let users = try await harness.accounts.users()
            #expect(users.count == 2 && users.first { $0.email == "ada@example.com" } == existing, "the existing account is untouched")
            #expect(try await browser.post("/signup", [("email", "n3@example.com"), ("password", "another password")]).status == .seeOther)
            let fourth = try await browser.post("/signup", [("email", "n4@example.com"), ("password", "another password")])
            #expect(fourth.status == .tooManyRequests, "three an hour from one network")
            harness.clock.advance(by: 3601)
            for index in 0..<AccountService.maxPendingAccounts {
                _ = try await harness.addUser("pending\(index)@example.com", access: .pending)
            }
            let closed = try await browser.post("/signup", [("email", "late@example.com"), ("password", "another password")])
            #expect(closed.status == .serviceUnavailable && closed.body.contains("waiting for approval"))
            #expect(try await harness.accounts.users().count { $0.email == "late@example.com" } == 0)
        }
    }

    @Test("next= sends the browser only to a path here, whatever its encoding", arguments: [
        ("/campaigns", "/campaigns"), ("/", "/"), ("/campaigns?x=1", "/campaigns?x=1"),
        ("/%09/evil.example", "/"), ("/\t/evil.example", "/"), ("//evil.example", "/"), ("/%2F/evil.example", "/"),
        ("/%252F%252Fevil.example", "/"), ("/\\evil.example", "/"), ("/%5Cevil.example", "/"), ("https://evil.example", "/"),
        ("/%0d%0aSet-Cookie:x", "/"), (" /campaigns", "/"), ("/ campaigns", "/"),
    ])
    func safeNext(_ next: String, _ expected: String) async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run(.router) { client in
            let page = try await Browser(client).post(
                "/login", [("email", "ada@example.com"), ("password", WebHarness.password), ("next", next)])
            #expect(page.status == .seeOther && page.location == expected, "\(next) → \(page.location ?? "none")")
        }
    }

    @Test("CSRF: the token is bound to the sign-in and new with each; another site's post is refused by its Origin")
    func csrfBoundToSignIn() async throws {
        let harness = try await WebHarness.make()
        defer { harness.cleanUp() }
        try await harness.addUser("ada@example.com")
        try await harness.run(.router) { client in
            let browser = Browser(client)
            try await browser.get("/login")
            let before = try #require(browser.cookies["crier_csrf"])
            try await browser.signIn("ada@example.com")
            #expect(browser.cookies["crier_csrf"] != before, "the double-submit cookie is replaced at sign-in")
            let settings = try await browser.get("/settings")
            let token = try #require(settings.csrfField)
            #expect(token == browser.formToken && token != browser.cookies["crier_csrf"])
            #expect(try await browser.post("/settings/tokens", [("label", "x")], csrf: before).status == .forbidden,
                    "a token from before the sign-in is worthless after it")
            #expect(try await browser.post("/settings/tokens", [("label", "x")], csrf: browser.cookies["crier_csrf"]).status == .forbidden,
                    "signed in, the cookie's token is not the form's")
            let crossSite = try await browser.post(
                "/settings/tokens", [("label", "x")], headers: [.origin: "https://evil.example", HTTPField.Name("Sec-Fetch-Site")!: "cross-site"])
            #expect(crossSite.status == .forbidden)
            let foreignOrigin = try await browser.post("/settings/tokens", [("label", "x")], headers: [.origin: "https://evil.example"])
            #expect(foreignOrigin.status == .forbidden)
            let sameSite = try await browser.post(
                "/settings/tokens", [("label", "x")], headers: [HTTPField.Name("Sec-Fetch-Site")!: "same-site"])
            #expect(sameSite.status == .forbidden, "a sibling subdomain is another site's page")
            #expect(try await browser.post("/settings/tokens", [("label", "ok")]).status == .seeOther)
            // The next sign-in has a token of its own.
            let second = Browser(client)
            try await second.signIn("ada@example.com")
            #expect(second.formToken != browser.formToken)
            #expect(try await second.post("/settings/tokens", [("label", "x")], csrf: browser.formToken).status == .forbidden)
        }
    }
}
