import CrierCore
import CrierHTTP
import CrierServer
import CrierService
import CrierStorage
import CrierTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

/// A server built by `buildApplication` on a fresh database (SQLite, or PostgreSQL with
/// `CRIER_TEST_STORE=postgres`), with two users (ada, bob), a session each, a manual clock, and a
/// small client speaking JSON.
struct APIHarness {
    /// `--database`'s form of where the data is.
    let database: String
    let store: any StoreTestSeam
    let clock: ManualClock
    let adaToken: String
    let bobToken: String

    static let adaSession = "ada-phone"
    static let bobSession = "bob-phone"

    static func make(now: String = "2026-11-25T10:00:00Z") async throws -> APIHarness {
        let database = try await TestBackend.harnessBackend.makeDatabaseLocation()
        let clock = ManualClock(now)
        let store = try await TestBackend.openStore(at: database)
        let accounts = AccountService(store: store, clock: clock, passwordHashCost: 4)
        var tokens: [String] = []
        for (email, session) in [("ada@example.com", adaSession), ("bob@example.com", bobSession)] {
            let user = try await accounts.addUser(email: email, name: nil, password: "password1", isAdmin: false)
            tokens.append(try await accounts.createToken(email: email, label: "test"))
            _ = try await store.registerSession(name: session, ownerId: user.id, at: clock.now())
        }
        return APIHarness(database: database, store: store, clock: clock, adaToken: tokens[0], bobToken: tokens[1])
    }

    /// Adds a user with a token; returns the token.
    func addUser(_ email: String, isAdmin: Bool) async throws -> String {
        let accounts = AccountService(store: store, clock: clock, passwordHashCost: 4)
        _ = try await accounts.addUser(email: email, name: nil, password: "password1", isAdmin: isAdmin)
        return try await accounts.createToken(email: email, label: "test")
    }

    /// Runs `body` against the application, then removes nothing: call `cleanUp` when done.
    func run<Value: Sendable>(
        _ testing: TestingSetup = .router, configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: @Sendable (APIClient) async throws -> Value
    ) async throws -> Value {
        var configuration = ServerConfiguration()
        configuration.database = try DatabaseLocation(database)
        configure(&configuration)
        let app = try await buildApplication(configuration, clock: clock, logger: Logger(label: "test"))
        return try await app.test(testing) { client in
            try await body(APIClient(client: client, adaToken: adaToken, bobToken: bobToken))
        }
    }

    /// Sets a message's status directly in the database, standing in for the dispatcher.
    func setMessageStatus(_ status: MessageStatus, campaignId: String, occurrence: Int = 0) async throws {
        try await store.forceStatus(status, campaignId: campaignId, occurrence: occurrence)
    }

    /// The id of a message of the campaign, with its gateway id set as if it had been sent.
    func markSent(campaignId: String, occurrence: Int = 0, gatewayId: String) async throws -> String {
        try await store.forceSent(
            campaignId: campaignId, occurrence: occurrence, gatewayMessageId: gatewayId,
            rawId: String(gatewayId.split(separator: "_")[2]), at: clock.now())
    }

    func cleanUp() { TestBackend.removeDatabase(at: database) }
}

/// Which caller a request comes from.
enum Caller {
    case ada, bob, anonymous, token(String)
}

struct APIResponse {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let json: JSONValue

    var error: String? { json["error"]?.string }
    var code: String? { json["code"]?.string }
    var field: String? { json["field"]?.string }
}

struct APIClient: Sendable {
    let client: any TestClientProtocol
    let adaToken: String
    let bobToken: String

    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, as caller: Caller = .ada, body: String? = nil) async throws -> APIResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        switch caller {
        case .ada: headers[.authorization] = "Bearer \(adaToken)"
        case .bob: headers[.authorization] = "Bearer \(bobToken)"
        case .token(let value): headers[.authorization] = value
        case .anonymous: break
        }
        let response = try await client.execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let data = Data(response.body.readableBytesView)
        SpecConformance.record(
            method: method.rawValue, path: uri, requestBody: body.map { Data($0.utf8) }, status: Int(response.status.code),
            responseContentType: response.headers[.contentType], responseBody: data)
        let json = data.isEmpty ? JSONValue.null : (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .string(String(decoding: data, as: UTF8.self))
        return APIResponse(status: response.status, headers: response.headers, json: json)
    }

    func call(_ method: HTTPRequest.Method, _ uri: String, as caller: Caller = .ada, json: [String: Any]) async throws -> APIResponse {
        let data = try JSONSerialization.data(withJSONObject: json)
        return try await call(method, uri, as: caller, body: String(decoding: data, as: UTF8.self))
    }

    /// Creates a campaign from `campaignBody` changed by `change`; returns its id.
    func createCampaign(as caller: Caller = .ada, _ change: (inout [String: Any]) -> Void = { _ in }) async throws -> String {
        var body = campaignBody(session: caller.isBob ? APIHarness.bobSession : APIHarness.adaSession)
        change(&body)
        let response = try await call(.post, "/api/campaigns", as: caller, json: body)
        guard response.status == .created, let id = response.json["campaignId"]?.string else {
            throw HarnessError("create failed: \(response.status) \(response.json)")
        }
        return id
    }
}

extension Caller {
    var isBob: Bool { if case .bob = self { true } else { false } }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A valid createCampaign body: a three-day countdown in Nairobi, well after the harness's clock.
func campaignBody(session: String = APIHarness.adaSession) -> [String: Any] {
    [
        "groupId": "120363025@g.us", "groupName": "Church choir", "sessionId": session, "title": "Roof fund",
        "targetAmount": "KES 50,000", "startDate": "2026-12-01", "endDate": "2026-12-03", "messageTime": "09:30",
        "timeZone": "Africa/Nairobi", "messageTemplate": "{days_left} days left", "isRecurring": false,
    ]
}

/// `campaignBody()` without the fields updateCampaign does not take.
func updateBody() -> [String: Any] {
    var body = campaignBody()
    for key in ["groupId", "groupName", "sessionId"] { body.removeValue(forKey: key) }
    return body
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { object[key] } else { nil }
    }
    subscript(index: Int) -> JSONValue? {
        if case .array(let array) = self, array.indices.contains(index) { array[index] } else { nil }
    }
    var string: String? { if case .string(let value) = self { value } else { nil } }
    var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    var int: Int? {
        switch self {
        case .int(let value): value
        case .number(let value): Int(exactly: value)
        default: nil
        }
    }
    var isNull: Bool { self == .null }
}
