import CrierCore
import CrierServer
import CrierService
import CrierStorage
import CrierTestSupport
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization

/// A server built by `buildApplication` (console gateway) on a fresh database (SQLite, or PostgreSQL
/// with `CRIER_TEST_STORE=postgres`), and browsers that keep cookies and post forms with their CSRF
/// token like a real one.
struct WebHarness {
    /// `--database`'s form of where the data is.
    let database: String
    let clock: ManualClock
    let store: any StoreTestSeam
    let accounts: AccountService

    static let password = "password1"

    static func make(now: String = "2026-11-25T10:00:00Z") async throws -> WebHarness {
        let database = try await TestBackend.harnessBackend.makeDatabaseLocation()
        let clock = ManualClock(now)
        let store = try await TestBackend.openStore(at: database)
        return WebHarness(
            database: database, clock: clock, store: store,
            accounts: AccountService(store: store, clock: clock, passwordHashCost: 4))
    }

    /// Adds an active user.
    @discardableResult
    func addUser(_ email: String, isAdmin: Bool = false, access: UserAccess = .active) async throws -> User {
        try await accounts.addUser(email: email, name: nil, password: Self.password, isAdmin: isAdmin, access: access)
    }

    /// Runs `body` against the application over real sockets (the peer is 127.0.0.1).
    func run<Value: Sendable>(
        _ testing: TestingSetup = .live, configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: @Sendable (any TestClientProtocol) async throws -> Value
    ) async throws -> Value {
        var configuration = ServerConfiguration()
        configuration.database = try DatabaseLocation(database)
        configuration.passwordHashCost = 4
        configure(&configuration)
        let app = try await buildApplication(configuration, clock: clock, logger: Logger(label: "test"))
        return try await app.test(testing) { client in try await body(client) }
    }

    func cleanUp() { TestBackend.removeDatabase(at: database) }
}

/// A page as the browser received it.
struct Page {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: String

    var location: String? { headers[.location] }
    var contentType: String? { headers[.contentType] }
    var setCookies: [String] { headers[values: .setCookie] }

    /// The value of the page's first form field `_csrf`, as a browser would submit it.
    var csrfField: String? {
        guard let range = body.range(of: "name=\"_csrf\" value=\"") else { return nil }
        return String(body[range.upperBound...].prefix { $0 != "\"" })
    }

    /// The text of the element with this id (without tags), for field errors.
    func text(ofId id: String) -> String? {
        guard let start = body.range(of: "id=\"\(id)\"") else { return nil }
        guard let open = body[start.upperBound...].firstIndex(of: ">") else { return nil }
        let rest = body[body.index(after: open)...]
        return String(rest.prefix { $0 != "<" })
    }
}

/// A browser: a cookie jar, GET, and form posts carrying the CSRF token from the cookie.
final class Browser: Sendable {
    let client: any TestClientProtocol
    private let jar = Mutex<[String: String]>([:])

    init(_ client: any TestClientProtocol) { self.client = client }

    var cookies: [String: String] { jar.withLock { $0 } }
    func setCookie(_ name: String, _ value: String?) { jar.withLock { $0[name] = value } }

    @discardableResult
    func get(_ path: String, accept: String = "text/html") async throws -> Page {
        try await send(.get, path, headers: [.accept: accept], body: nil)
    }

    /// Posts a form. The CSRF token is the one in the cookie (fetched with a GET of `/login` when
    /// the jar has none) unless `csrf` says otherwise (`""` sends none).
    /// The token the page's forms carry: bound to the sign-in once signed in, else the cookie's.
    @discardableResult
    func post(
        _ path: String, _ fields: [(String, String)] = [], csrf: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> Page {
        if cookies["crier_csrf"] == nil { try await get("/login") }
        var fields = fields
        let token = csrf ?? formToken ?? ""
        if !token.isEmpty { fields.append(("_csrf", token)) }
        let body = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .accept: "text/html"]
        headers.append(contentsOf: extra)
        return try await send(.post, path, headers: headers, body: body)
    }

    /// What a page's `_csrf` field holds for this browser (as `WebSessionMiddleware` computes it).
    var formToken: String? {
        if let session = cookies["crier_session"] {
            return SHA256.hash(data: Data(("crier-csrf:" + session).utf8)).map { String(format: "%02x", $0) }.joined()
        }
        return cookies["crier_csrf"]
    }

    /// Signs in through the form; expects success.
    func signIn(_ email: String, password: String = WebHarness.password) async throws {
        let page = try await post("/login", [("email", email), ("password", password)])
        guard page.status == .seeOther, cookies["crier_session"] != nil else {
            throw WebTestError("sign-in failed: \(page.status) \(page.body.prefix(300))")
        }
    }

    private func send(_ method: HTTPRequest.Method, _ path: String, headers: HTTPFields, body: String?) async throws -> Page {
        var headers = headers
        let cookieHeader = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
        if !cookieHeader.isEmpty { headers[.cookie] = cookieHeader }
        let response = try await client.execute(
            uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        for header in response.headers[values: .setCookie] {
            let pair = header.split(separator: ";", maxSplits: 1)[0]
                .split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            let isExpired = header.contains("Max-Age=0") || pair[1].isEmpty
            setCookie(String(pair[0]), isExpired ? nil : String(pair[1]))
        }
        return Page(status: response.status, headers: response.headers, body: String(buffer: response.body))
    }

    static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

struct WebTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A valid new-campaign form for `session`.
func campaignForm(session: String, groupIds: [String] = ["120363025@g.us"], title: String = "Roof fund") -> [(String, String)] {
    groupIds.map { ("groupId", $0) } + [
        ("sessionId", session), ("audienceType", "groups"), ("title", title), ("targetAmount", "KES 50,000"),
        ("startDate", "2026-12-01"), ("endDate", "2026-12-03"), ("messageTime", "09:30"), ("timeZone", "Africa/Nairobi"),
        ("messageTemplate", "{days_left} days left"), ("intent", "create"),
    ]
}
