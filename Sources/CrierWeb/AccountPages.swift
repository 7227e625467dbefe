import CrierCore
import CrierService
import Foundation
import Hummingbird

/// First-run setup, sign-in and sign-out, sign-up awaiting approval, API tokens, and the admin's
/// user list.
struct AccountPages {
    let dashboard: Dashboard
    var accounts: AccountService { dashboard.accounts }

    func addRoutes(to router: RouterGroup<WebContext>) {
        router.get("setup", use: setupPage)
        router.post("setup", use: setup)
        router.get("login", use: loginPage)
        router.post("login", use: login)
        router.post("logout", use: logout)
        router.get("signup", use: signupPage)
        router.post("signup", use: signup)
        router.get("settings", use: settingsPage)
        router.post("settings/tokens", use: createToken)
        router.post("settings/password", use: changePassword)
        router.get("reset/:token", use: resetPage)
        router.post("reset/:token", use: reset)
        router.post("settings/tokens/:tokenId/revoke", use: revokeToken)
        router.get("admin/users", use: usersPage)
        router.post("admin/users/:userId/:action", use: manageUser)
    }

    // MARK: First run

    /// Only while no account exists, and only from the machine Crier runs on: whoever reaches the
    /// page first becomes the administrator. A request through a proxy (which connects from
    /// loopback but forwards someone else) does not count as local.
    private func checkSetupAllowed(_ request: Request, _ context: WebContext) async throws {
        guard try await accounts.needsFirstUser() else { throw WebError.notFound("Crier is already set up. Sign in instead.") }
        let proxied = request.headers[.xForwardedFor] != nil || request.headers[.forwarded] != nil
        guard context.isFromLoopback, !proxied else {
            throw WebError.forbidden(
                "The first administrator can only be created from the machine Crier runs on "
                    + "(open http://127.0.0.1 there), or with `crier user add --admin`.")
        }
    }

    @Sendable func setupPage(_ request: Request, context: WebContext) async throws -> Response {
        try await checkSetupAllowed(request, context)
        return dashboard.page("setup", title: "Set up Crier", context: context)
    }

    @Sendable func setup(_ request: Request, context: WebContext) async throws -> Response {
        let form = try await WebForm.read(request, context: context)
        try await checkSetupAllowed(request, context)
        let email = form["email"] ?? ""
        do {
            let user = try await accounts.addUser(
                email: email, name: form.text("name"), password: form["password"] ?? "", isAdmin: true)
            return try await signedIn(user, context: context, next: "/sessions")
        } catch let error as CampaignValidationError {
            return dashboard.page(
                "setup", title: "Set up Crier", context: context, status: .badRequest,
                ["email": email, "errors": [error.field: error.message]])
        }
    }

    // MARK: Sign-in

    @Sendable func loginPage(_ request: Request, context: WebContext) async throws -> Response {
        if context.user != nil { return PageRenderer.redirect(to: "/") }
        if try await accounts.needsFirstUser() { return PageRenderer.redirect(to: "/setup") }
        return dashboard.page(
            "login", title: "Sign in", context: context, notice: Notices.text(request),
            ["next": Self.safeNext(request.uri.queryParameters["next"].map(String.init))])
    }

    @Sendable func login(_ request: Request, context: WebContext) async throws -> Response {
        let form = try await WebForm.read(request, context: context)
        let email = form["email"] ?? ""
        let next = Self.safeNext(form["next"])
        let device = request.cookies[Self.deviceCookie]?.value
        let attempt: SignInThrottle.Attempt
        switch await dashboard.throttle.admit(account: email, address: context.clientAddress, device: device) {
        case .wait(let seconds): throw WebError.tooManyAttempts(retryAfterSeconds: Int(seconds.rounded(.up)))
        case .admitted(let admitted): attempt = admitted
        }
        do {
            let user = try await accounts.signIn(email: email, password: form["password"] ?? "")
            await dashboard.throttle.settle(attempt, outcome: .succeeded)
            var response = try await signedIn(user, context: context, next: next)
            response.setCookie(
                Cookie(
                    name: Self.deviceCookie, value: await dashboard.throttle.deviceCookie(for: email),
                    maxAge: 365 * 86_400, path: "/login", secure: context.secureCookies, httpOnly: true, sameSite: .strict))
            return response
        } catch let error as SignInError {
            await dashboard.throttle.settle(attempt, outcome: error == .wrongCredentials ? .wrongPassword : .notAPasswordFailure)
            return dashboard.page(
                "login", title: "Sign in", context: context, status: .unauthorized,
                ["email": email, "next": next, "error": error.message])
        } catch {
            await dashboard.throttle.settle(attempt, outcome: .notAPasswordFailure)
            throw error
        }
    }

    /// Marks a browser that signed in to an account before: its owner is never slowed by the
    /// failures of others (`SignInThrottle`).
    static let deviceCookie = "crier_device"

    private func signedIn(_ user: User, context: WebContext, next: String) async throws -> Response {
        let token = try await accounts.startWebSession(for: user)
        var response = PageRenderer.redirect(to: next)
        response.setCookie(context.sessionCookie(token))
        response.setCookie(WebSessionMiddleware.freshCSRFCookie(secure: context.secureCookies))
        return response
    }

    @Sendable func logout(_ request: Request, context: WebContext) async throws -> Response {
        _ = try await WebForm.read(request, context: context)
        if let cookie = context.sessionCookie {
            try await accounts.endWebSession(cookie)
            dashboard.streams.endSignIn(cookie)
        }
        var response = PageRenderer.redirect(to: "/login?notice=signed-out")
        response.setCookie(context.expiredSessionCookie)
        return response
    }

    /// Only a path on this site: `next` never sends the browser elsewhere. It must start with exactly
    /// one `/` followed by a path character (or be `/` alone), and neither it nor any decoding of it
    /// may hold a control character, a space or a backslash: browsers drop a tab or newline and read
    /// `/\t/evil.example` as `//evil.example`, and `\` as `/`.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.utf8.count <= 500 else { return "/" }
        var decoded = next
        for _ in 0..<3 {
            guard isSafePath(decoded) else { return "/" }
            guard let once = decoded.removingPercentEncoding, once != decoded else { return next }
            decoded = once
        }
        return "/"
    }

    private static func isSafePath(_ path: String) -> Bool {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/") else { return false }
        guard !bytes.contains(where: { $0 < 0x21 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) else { return false }
        guard bytes.count > 1 else { return true }
        let second = bytes[1]
        let isAlphanumeric = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(second | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(second)
        return isAlphanumeric || Array("-._~!$&'()*+,;=:@%?#".utf8).contains(second)
    }

    // MARK: Sign-up

    @Sendable func signupPage(_ request: Request, context: WebContext) async throws -> Response {
        dashboard.page("signup", title: "Create an account", context: context)
    }

    /// Every sign-up that is not refused outright (bad input, too many from this network, too many
    /// waiting) answers the same, whether or not the email had an account: the email's owner learns
    /// what they need by signing in.
    @Sendable func signup(_ request: Request, context: WebContext) async throws -> Response {
        let form = try await WebForm.read(request, context: context)
        let email = form["email"] ?? ""
        let password = form["password"] ?? ""
        do {
            try AccountService.checkPassword(password)
            if let wait = await dashboard.signUps.admit(address: context.clientAddress) {
                throw WebError.tooManyAttempts(retryAfterSeconds: Int(wait.rounded(.up)))
            }
            try await accounts.signUp(email: email, name: form.text("name"), password: password)
        } catch let error as CampaignValidationError {
            return dashboard.page(
                "signup", title: "Create an account", context: context, status: .badRequest,
                ["email": email, "errors": [error.field: error.message]])
        } catch let error as DomainError where error == .signUpsClosed {
            return dashboard.page(
                "signup", title: "Create an account", context: context, status: .serviceUnavailable,
                ["email": email, "errors": ["email": error.message]])
        }
        return PageRenderer.redirect(to: "/login?notice=awaiting-approval")
    }

    // MARK: API tokens

    /// A new token or reset link is shown once on the page a POST redirects to (so a reload creates
    /// no second one): it waits in a short-lived, HttpOnly cookie scoped to that page, cleared as shown.
    static let flashCookie = "crier_flash"

    /// The value travels base64url-encoded (a cookie takes no spaces, an email's `@` or a link's `/`).
    private func flash(_ value: String, path: String, context: WebContext) -> Cookie {
        let encoded = Data(value.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return Cookie(
            name: Self.flashCookie, value: encoded, maxAge: 120, path: path, secure: context.secureCookies, httpOnly: true,
            sameSite: .strict)
    }

    private static func flashValue(_ request: Request) -> String? {
        guard let encoded = request.cookies[flashCookie]?.value, encoded.utf8.count <= 1024 else { return nil }
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64).flatMap { String(data: $0, encoding: .utf8) }
    }

    private func clearedFlash(path: String, context: WebContext) -> Cookie {
        Cookie(name: Self.flashCookie, value: "", maxAge: 0, path: path, secure: context.secureCookies, httpOnly: true, sameSite: .strict)
    }

    @Sendable func settingsPage(_ request: Request, context: WebContext) async throws -> Response {
        let token = Self.flashValue(request).flatMap { $0.hasPrefix("crier_") ? $0 : nil }
        var response = try await settings(context: context, newToken: token, notice: Notices.text(request))
        if request.cookies[Self.flashCookie] != nil { response.setCookie(clearedFlash(path: "/settings", context: context)) }
        return response
    }

    private func settings(
        context: WebContext, newToken: String?, status: HTTPResponse.Status = .ok, error: String? = nil,
        notice: String? = nil, passwordErrors: [String: String] = [:]
    ) async throws -> Response {
        let user = try context.requireUser()
        let zone = TimeZone(identifier: dashboard.defaultTimeZone) ?? .gmt
        let tokens = try await accounts.tokens(for: user).map { TokenRow($0, zone: zone) }
        var values: [String: Any] = [
            "tokens": tokens, "email": user.email, "passwordErrors": passwordErrors, "timeZone": dashboard.defaultTimeZone,
        ]
        values["newToken"] = newToken
        values["error"] = error
        return dashboard.page("settings", title: "Settings", context: context, status: status, notice: notice, values)
    }

    @Sendable func createToken(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await WebForm.read(request, context: context)
        do {
            let created = try await accounts.createToken(for: user, label: form.text("label"))
            var response = PageRenderer.redirect(to: "/settings")
            response.setCookie(flash(created.token, path: "/settings", context: context))
            return response
        } catch let error as CampaignValidationError {
            return try await settings(context: context, newToken: nil, status: .badRequest, error: error.message)
        }
    }

    @Sendable func changePassword(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await WebForm.read(request, context: context)
        do {
            try await accounts.changePassword(
                for: user, current: form["currentPassword"] ?? "", new: form["newPassword"] ?? "",
                keepingSignIn: context.sessionCookie)
            return PageRenderer.redirect(to: "/settings?notice=password-changed")
        } catch let error as CampaignValidationError {
            let field = error.field == "password" ? "newPassword" : error.field
            let message = error.field == "password" ? "New password" + error.message.dropFirst("password".count) : error.message
            return try await settings(context: context, newToken: nil, status: .badRequest, passwordErrors: [field: message])
        }
    }

    // MARK: Reset links

    @Sendable func resetPage(_ request: Request, context: WebContext) async throws -> Response {
        dashboard.page("reset", title: "Choose a new password", context: context, ["token": try context.parameters.require("token")])
    }

    @Sendable func reset(_ request: Request, context: WebContext) async throws -> Response {
        let form = try await WebForm.read(request, context: context)
        let token = try context.parameters.require("token")
        do {
            try await accounts.resetPassword(token: token, to: form["newPassword"] ?? "")
            return PageRenderer.redirect(to: "/login?notice=password-reset")
        } catch let error as CampaignValidationError {
            return dashboard.page(
                "reset", title: "Choose a new password", context: context, status: .badRequest,
                ["token": token, "errors": ["newPassword": "New password" + error.message.dropFirst("password".count)]])
        } catch let error as DomainError where error == .resetLinkInvalid {
            return dashboard.page(
                "reset", title: "Choose a new password", context: context, status: .notFound,
                ["token": token, "invalid": error.message])
        }
    }

    @Sendable func revokeToken(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        _ = try await WebForm.read(request, context: context)
        try await accounts.revokeToken(id: context.parameters.require("tokenId"), for: user)
        return PageRenderer.redirect(to: "/settings")
    }

    /// Where this dashboard is reached: its public URL, else the address the browser used.
    private func origin(of request: Request) -> String {
        if let publicURL = dashboard.publicURL { return publicURL }
        let scheme = dashboard.publicURLIsHTTPS || request.headers[.xForwardedProto]?.lowercased() == "https" ? "https" : "http"
        return "\(scheme)://\(request.head.authority ?? "127.0.0.1")"
    }

    // MARK: Administration

    @Sendable func usersPage(_ request: Request, context: WebContext) async throws -> Response {
        let admin = try context.requireUser()
        guard admin.isAdmin else { throw WebError.forbidden("Only an administrator can manage users.") }
        let users = try await accounts.users().map { UserRow($0, isSelf: $0.id == admin.id) }
        var values: [String: Any] = ["users": users, "pendingCount": users.filter(\.isPending).count]
        // A reset link just issued: "email link", shown once.
        if let flash = Self.flashValue(request), let space = flash.firstIndex(of: " ") {
            values["resetFor"] = String(flash[..<space])
            values["resetLink"] = String(flash[flash.index(after: space)...])
        }
        var response = dashboard.page("users", title: "Users", context: context, notice: Notices.text(request), values)
        if request.cookies[Self.flashCookie] != nil { response.setCookie(clearedFlash(path: "/admin/users", context: context)) }
        return response
    }

    @Sendable func manageUser(_ request: Request, context: WebContext) async throws -> Response {
        let admin = try context.requireUser()
        _ = try await WebForm.read(request, context: context)
        let userId = try context.parameters.require("userId")
        switch context.parameters.get("action") {
        case "approve": try await accounts.setAccess(.active, userPublicId: userId, by: admin)
        case "revoke": try await accounts.setAccess(.revoked, userPublicId: userId, by: admin)
        case "delete": try await accounts.deleteUser(userPublicId: userId, by: admin)
        case "reset-link":
            let (token, user) = try await accounts.issuePasswordReset(userPublicId: userId, by: admin)
            var response = PageRenderer.redirect(to: "/admin/users")
            response.setCookie(flash("\(user.email) \(origin(of: request))/reset/\(token)", path: "/admin/users", context: context))
            return response
        default: throw WebError.notFound("No such action.")
        }
        return PageRenderer.redirect(to: "/admin/users?notice=user-updated")
    }
}

/// An API token as the settings page lists it (never the token itself).
struct TokenRow {
    let id: String
    let label: String
    let created: String
    let lastUsed: String

    init(_ token: APITokenInfo, zone: TimeZone) {
        id = token.id
        label = token.label ?? "(no label)"
        created = Formats.dayAndTime(token.createdAt, in: zone)
        lastUsed = token.lastUsedAt.map { Formats.dayAndTime($0, in: zone) } ?? "never"
    }
}

/// A user as the admin page lists them.
struct UserRow {
    let id: String
    let email: String
    let name: String?
    let isAdmin: Bool
    let access: String
    let isPending: Bool
    let isActive: Bool
    let isSelf: Bool

    init(_ user: User, isSelf: Bool) {
        id = user.publicId
        email = user.email
        name = user.name
        isAdmin = user.isAdmin
        access = user.access.rawValue
        isPending = user.access == .pending
        isActive = user.access == .active
        self.isSelf = isSelf
    }
}

/// Fixed notices a redirect can ask for by key (`?notice=`): no text from the URL reaches the page.
enum Notices {
    static let texts = [
        "signed-out": "You are signed out.",
        "awaiting-approval": "Thank you. An administrator must approve a new account before it can sign in; if you have an account already, sign in with it.",
        "user-updated": "Saved.",
        "campaign-created": "Campaign created.",
        "campaigns-created": "Campaigns created.",
        "campaign-updated": "Campaign saved.",
        "campaign-deleted": "Campaign deleted; its unsent messages are cancelled.",
        "session-restarted": "Session restarting.",
        "session-logged-out": "Logged out of WhatsApp: scan the QR code to link the phone again.",
        "password-changed": "Your password is changed; your other sign-ins have ended.",
        "password-reset": "Your password is set. Sign in with it.",
    ]

    static func text(_ request: Request) -> String? {
        guard let key = request.uri.queryParameters["notice"].map(String.init) else { return nil }
        // The one notice with a number in it: how many upcoming messages were corrected.
        if key.hasPrefix("upcoming-corrected-"), let count = Int(key.dropFirst("upcoming-corrected-".count)), count >= 0 {
            return "\(count) upcoming message(s) corrected."
        }
        return texts[key]
    }
}
