import AsyncHTTPClient
@testable import CrierGateway
import NIOCore
import CrierTestSupport
import Foundation
import Testing

@Suite("WAHA client against the WAHA double")
struct WAHAClientTests {
    /// Timeouts far beyond any answer's time, even in a loaded full test run (a 1 s timeout failed
    /// there); only the timeout case uses a short one, against a hang longer still.
    static func client(_ double: WAHADouble, apiKey: String? = "key", sendTimeout: TimeAmount = .seconds(20)) -> WAHAClient {
        WAHAClient(baseURL: double.baseURL, apiKey: apiKey, sendTimeout: sendTimeout, requestTimeout: .seconds(20))
    }

    static let message = OutgoingText(session: "default", chatId: "120363025@g.us", text: "12 days left")

    @Test("every engine's sendText answer yields the message id; an empty 201 is sent with no id", arguments: [
        (WAHADouble.Engine.gows, true), (.webjs, true), (.webjsDollarOne, true), (.noweb, true), (.emptyBody, false),
    ])
    func sendShapes(_ engine: WAHADouble.Engine, _ hasId: Bool) async throws {
        try await WAHADouble.withRunning(everySessionWorking: true) { double in
            double.setEngine(engine)
            let receipt = try await Self.client(double).sendText(Self.message)
            let recorded = try #require(double.recorded.first)
            #expect(recorded.text == "12 days left" && recorded.chatId == "120363025@g.us" && recorded.session == "default")
            #expect(receipt.messageId?.full == (hasId ? recorded.id : nil))
            #expect(receipt.messageId?.raw == (hasId ? String(recorded.id.split(separator: "_")[2]) : nil))
            let body = try #require(double.requests.last { $0.path == "/api/sendText" }?.body)
            let sent = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
            #expect(sent["linkPreview"] as? Bool == false, "no link previews: they make sends slow and uncertain")
        }
    }

    @Test("path segments keep only unreserved bytes as they are", arguments: [
        ("phone-1_a.b~", "phone-1_a.b~"), ("120363025@g.us", "120363025%40g.us"), ("a b/é?", "a%20b%2F%C3%A9%3F"),
        ("", ""),
    ])
    func pathSegments(_ value: String, _ encoded: String) {
        #expect(WAHAClient.segment(value) == encoded)
    }

    @Test("sendText's body is the JSON WAHA reads, whatever the text holds; the id only when reserved", arguments: [
        OutgoingText(session: "default", chatId: "120363025@g.us", text: "12 days left"),
        OutgoingText(session: "s\"1\\", chatId: "254700000001@c.us", text: "Line 1\nLine 2\t\u{1} «Ksh» 🎉 \r\u{8}\u{C}/",
                     messageId: "3EB0A1B2"),
        OutgoingText(session: "x", chatId: "y", text: ""),
    ])
    func sendTextBody(_ message: OutgoingText) throws {
        let body = WAHAClient.sendTextBody(message)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
        #expect(object["session"] as? String == message.session)
        #expect(object["chatId"] as? String == message.chatId)
        #expect(object["text"] as? String == message.text)
        #expect(object["linkPreview"] as? Bool == false)
        #expect(object["id"] as? String == message.messageId)
        #expect(Set(object.keys) == Set(["session", "chatId", "text", "linkPreview"] + (message.messageId == nil ? [] : ["id"])))
    }

    @Test("failures are classified as DESIGN §5 says")
    func classification() async throws {
        try await WAHADouble.withRunning(everySessionWorking: true) { double in
            double.setHang(.seconds(3))
            let patient = Self.client(double)
            let hasty = Self.client(double, sendTimeout: .seconds(1))
            let cases: [(WAHADouble.SendFault, (GatewayFailure) -> Bool)] = [
                (.serverError(recorded: false), { if case .ambiguous = $0 { true } else { false } }),
                (.timeout(recorded: false), { if case .ambiguous = $0 { true } else { false } }),
                (.resetConnection(recorded: false), { if case .ambiguous = $0 { true } else { false } }),
                (.sessionNotWorking(.starting), { if case .sessionNotReady(.starting, _) = $0 { true } else { false } }),
                (.status(429, message: "slow down"), { if case .notDelivered = $0 { true } else { false } }),
                (.status(400, message: "bad chat id"), {
                    if case .rejected(400, let reason, false) = $0 { reason.contains("bad chat id") } else { false }
                }),
                (.status(403, message: "Forbidden"), { if case .rejected(403, _, true) = $0 { true } else { false } }),
                (.status(404, message: "We didn't find a session with name 'default'.\nPlease start it first by using POST /api/sessions/default/start request"), {
                    if case .sessionNotReady(.stopped, _) = $0 { true } else { false }
                }),
                (.status(400, message: "Enable NOWEB store \"config.noweb.store.enabled=True\" when starting a new session."), {
                    if case .historyUnavailable = $0 { true } else { false }
                }),
                (.status(422, message: "The method is not implemented by the engine."), {
                    if case .rejected(422, let reason, false) = $0 { reason.contains("not implemented") } else { false }
                }),
            ]
            for (fault, matches) in cases {
                double.failNextSends([fault])
                let client = if case .timeout = fault { hasty } else { patient }
                do {
                    _ = try await client.sendText(Self.message)
                    Issue.record("\(fault) did not fail")
                } catch let failure as GatewayFailure {
                    #expect(matches(failure), "\(fault) → \(failure)")
                }
            }
            #expect(double.recorded.isEmpty)
        }
    }

    @Test("a wrong API key is a refusal of credentials")
    func unauthorized() async throws {
        try await WAHADouble.withRunning(everySessionWorking: true) { double in
            double.requireAPIKey("right")
            await #expect(throws: GatewayFailure.rejected(httpStatus: 401, reason: "WAHA 401: Unauthorized", credentialsRefused: true)) {
                try await Self.client(double, apiKey: "wrong").sendText(Self.message)
            }
            _ = try await Self.client(double, apiKey: "right").sendText(Self.message)
            #expect(double.recorded.count == 1)
        }
    }

    @Test("an unknown or STOPPED session is 'not ready' (WAHA's 404 'start it first'), not a rejection")
    func sessionNotRunning() async throws {
        try await WAHADouble.withRunning { double in
            double.addSession("stopped", status: .stopped)
            for session in ["default", "stopped"] {
                do {
                    _ = try await Self.client(double).sendText(OutgoingText(session: session, chatId: "1@g.us", text: "x"))
                    Issue.record("sent through a session that is not running")
                } catch let failure as GatewayFailure {
                    guard case .sessionNotReady(.stopped, let reason) = failure else { Issue.record("\(failure)"); return }
                    #expect(reason.contains("Please start it first"))
                }
            }
        }
    }

    @Test("a closed port is 'not delivered'")
    func connectionRefused() async throws {
        let port = try await WAHADouble.withRunning { $0.port }  // free once the double stops
        let client = WAHAClient(baseURL: "http://127.0.0.1:\(port)", apiKey: nil, sendTimeout: .seconds(2))
        do {
            _ = try await client.sendText(Self.message)
            Issue.record("sent to a closed port")
        } catch let failure as GatewayFailure {
            guard case .notDelivered = failure else { Issue.record("\(failure)"); return }
        }
    }

    @Test("recent messages come back for reconciliation, filtered by chat and time")
    func recentMessages() async throws {
        let clock = ManualClock("2030-01-01T09:00:00Z")
        try await WAHADouble.withRunning(clock: clock, everySessionWorking: true) { double in
            let client = Self.client(double)
            _ = try await client.sendText(Self.message)
            _ = try await client.sendText(OutgoingText(session: "default", chatId: "999@c.us", text: "other chat"))
            clock.advance(by: 600)
            _ = try await client.sendText(OutgoingText(session: "default", chatId: Self.message.chatId, text: "later"))
            let all = try await client.recentMessagesFromMe(
                session: "default", chatId: Self.message.chatId, since: Date(iso: "2030-01-01T08:59:00Z"))
            #expect(all.map(\.body) == ["later", "12 days left"])
            let recent = try await client.recentMessagesFromMe(
                session: "default", chatId: Self.message.chatId, since: Date(iso: "2030-01-01T09:05:00Z"))
            #expect(recent.map(\.body) == ["later"])
        }
    }

    @Test("sessions: create when missing, with Crier's configuration; status, QR as PNG, restart, logout")
    func sessions() async throws {
        try await WAHADouble.withRunning { double in
            double.setStatusAfterStart(.scanQRCode)  // no phone paired yet
            let client = Self.client(double)
            #expect(try await client.session(named: "shop") == nil)
            let setup = SessionSetup(owner: "u123", webhook: .init(url: "https://crier.example/api/webhooks/waha", hmacKey: "k"))
            #expect(try await client.createSession(named: "shop", setup: setup) == .starting)
            #expect(try await client.session(named: "shop") == GatewaySession(
                name: "shop", status: .scanQRCode, owner: "u123", receiptsEnabled: true, historyEnabled: true))
            let config = try #require(double.sessionConfig("shop"))
            #expect((config["webjs"] as? [String: Any])?["tagsEventsOn"] as? Bool == true)
            let store = (config["noweb"] as? [String: Any])?["store"] as? [String: Any]
            #expect(store?["enabled"] as? Bool == true && store?["fullSync"] as? Bool == false)
            let hook = (config["webhooks"] as? [[String: Any]])?.first
            #expect(hook?["url"] as? String == "https://crier.example/api/webhooks/waha")
            #expect(hook?["events"] as? [String] == ["message.ack", "message.ack.group", "session.status"])
            #expect((hook?["hmac"] as? [String: Any])?["key"] as? String == "k")
            #expect(try await client.status(ofSession: "shop") == .scanQRCode)
            let png = try await client.qrCode(session: "shop")
            #expect(png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
            #expect(try await client.restartSession("shop") == .starting)
            double.setSessionStatus("shop", .working)
            // WAHA's QR 422 has Nest's default body: the client says which status the session is in.
            await #expect(throws: GatewayFailure.sessionNotReady(
                status: .working, reason: "The session is not waiting for a QR code (it is WORKING)")
            ) { try await client.qrCode(session: "shop") }
            #expect(try await client.logoutSession("shop") == .scanQRCode)
            try await client.checkHealth()
        }
    }

    @Test("groups are normalised from every engine's shape", arguments: [WAHADouble.Engine.noweb, .gows, .webjs])
    func groups(_ engine: WAHADouble.Engine) async throws {
        try await WAHADouble.withRunning { double async throws in
            double.setEngine(engine)
            double.addSession("default", status: .working, config: ["noweb": ["store": ["enabled": true, "fullSync": false]]])
            #expect(try await Self.client(double).groups(session: "default") == [
                ChatSummary(id: "120363025@g.us", name: "Church choir")
            ])
            #expect(try await Self.client(double).contacts(session: "default") == [
                ChatSummary(id: "254700000001@c.us", name: "Mary"), ChatSummary(id: "254700000002@c.us", name: "John"),
            ])
        }
    }
}

@Suite("Console gateway")
struct ConsoleGatewayTests {
    @Test("records what it 'sends' and serves it back; always working; no QR")
    func console() async throws {
        let gateway = ConsoleGateway()
        let before = Date().addingTimeInterval(-1)
        let receipt = try await gateway.sendText(WAHAClientTests.message)
        #expect(receipt.messageId != nil)
        #expect(gateway.sent.map(\.message) == [WAHAClientTests.message])
        let recent = try await gateway.recentMessagesFromMe(session: "default", chatId: "120363025@g.us", since: before)
        #expect(recent.map(\.body) == ["12 days left"])
        #expect(try await gateway.status(ofSession: "anything") == .working)
        await #expect(throws: GatewayFailure.self) { try await gateway.qrCode(session: "default") }
    }
}

@Suite("Transport error classification")
struct TransportClassificationTests {
    @Test("no connection made is 'not delivered'; anything after connecting is ambiguous")
    func classify() {
        func notDelivered(_ error: any Error) -> Bool {
            if case .notDelivered = WAHAClient.classify(transportError: error) { true } else { false }
        }
        #expect(notDelivered(IOError(errnoCode: ECONNREFUSED, reason: "connect")))
        #expect(notDelivered(HTTPClientError.connectTimeout))
        #expect(!notDelivered(HTTPClientError.remoteConnectionClosed))
        #expect(!notDelivered(HTTPClientError.deadlineExceeded))
        #expect(!notDelivered(IOError(errnoCode: ECONNRESET, reason: "read")))
    }

    @Test("WAHA down: refused, named by its URL, in plain words")
    func refusedMessage() async throws {
        let port = try await WAHADouble.withRunning { $0.port }  // stopped: nothing listens there now
        let client = WAHAClient(baseURL: "http://127.0.0.1:\(port)", apiKey: nil, requestTimeout: .seconds(3))
        do {
            _ = try await client.status(ofSession: "default")
            Issue.record("a stopped WAHA answered")
        } catch let failure as GatewayFailure {
            #expect(failure == .notDelivered(
                reason: "WAHA at http://127.0.0.1:\(port) is unreachable: connection refused (is WAHA running?)"))
        }
    }
}

@Suite("Message id reservations and the engine WAHA runs")
struct ReservationEngineTests {
    static func paths(_ double: WAHADouble) -> [String] {
        double.requests.map(\.path).filter { $0 == "/api/server/version" || $0.hasSuffix("/new-message-id") }
    }

    @Test("WEBJS: asked once, from many sessions at once, and no session asked for an id")
    func webjsAskedOnce() async throws {
        try await WAHADouble.withRunning(everySessionWorking: true) { double in
            double.setEngine(.webjs)
            let client = WAHAClientTests.client(double)
            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 0..<20 { group.addTask { try await client.reserveMessageId(session: "s\(index)") } }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(ids.count == 20 && ids.allSatisfy { $0 == nil })
            #expect(Self.paths(double) == ["/api/server/version"])
        }
    }

    @Test("GOWS and NOWEB: each reservation asks its session for an id")
    func idEnginesReserve() async throws {
        for engine in [WAHADouble.Engine.gows, .noweb] {
            try await WAHADouble.withRunning(everySessionWorking: true) { double in
                double.setEngine(engine)
                let client = WAHAClientTests.client(double)
                let first = try await client.reserveMessageId(session: "a")
                let second = try await client.reserveMessageId(session: "b")
                #expect(first != nil && second != nil && first != second, "\(engine)")
                #expect(Self.paths(double) == ["/api/server/version", "/api/a/new-message-id", "/api/b/new-message-id"])
            }
        }
    }

    @Test("a WAHA restarted with another engine is noticed once the answer is old")
    func engineChangeNoticed() async throws {
        try await WAHADouble.withRunning(everySessionWorking: true) { double in
            double.setEngine(.webjs)
            let client = WAHAClient(baseURL: double.baseURL, apiKey: "key", engineRecheck: .zero)
            let asWEBJS = try await client.reserveMessageId(session: "a")
            double.setEngine(.gows)
            let asGOWS = try await client.reserveMessageId(session: "a")
            #expect(asWEBJS == nil && asGOWS != nil)
        }
    }

    @Test("a WAHA whose engine cannot be learned: each session is asked, and WEBJS's 422 means no id")
    func unknownEngineFallsBack() async throws {
        try await WAHADouble.withRunning(everySessionWorking: true) { double in
            double.setEngine(.webjs)
            double.setServerVersionFails(true)
            let id = try await WAHAClientTests.client(double).reserveMessageId(session: "a")
            #expect(id == nil)
            #expect(Self.paths(double) == ["/api/server/version", "/api/a/new-message-id"])
        }
    }
}
