import AsyncHTTPClient
import CrierCore
import CrierGateway
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A stand-in for WAHA: a real HTTP server on a loopback port speaking the part of the WAHA API that
/// Crier uses, the way WAHA answers it (shared/reference/waha-api.md, WAHA's OpenAPI spec and source):
/// an unknown or STOPPED session is a 404 with WAHA's "start it first" message, a running session that
/// is not WORKING a 422 with its status, a created session goes STARTING then WORKING, message lists
/// honour their filters, NOWEB and GOWS hand out message ids in advance, and it posts signed webhooks
/// (HMAC-SHA512 of the raw body) to the URL a session was configured with. It records every message it
/// accepts and can be told to add latency or fail in each way the real gateway does.
public final class WAHADouble: Sendable {
    /// Which engine's answers to give (response shapes, message ids, what is supported).
    public enum Engine: String, Sendable {
        case noweb = "NOWEB", gows = "GOWS", webjs = "WEBJS"
        /// WEBJS 2025.6.5's regression: 201 with an empty body.
        case emptyBody = "WEBJS (empty 201)"
        /// WEBJS with WhatsApp Web from July 2026: ids as `{fromMe, remote, id, $1}`.
        case webjsDollarOne = "WEBJS ($1 ids)"

        /// NOWEB and GOWS take a client-chosen message id (`GET /api/{session}/new-message-id`).
        var takesMessageIds: Bool { self == .noweb || self == .gows }
        var name: String { rawValue.split(separator: " ").first.map(String.init) ?? rawValue }
    }

    /// A fault for the next `sendText` request (consumed in order, one per request).
    public enum SendFault: Sendable {
        /// No fault: answers as usual (to place faults among ordinary sends).
        case ordinary
        /// 500, after accepting the message when `recorded`.
        case serverError(recorded: Bool)
        /// Answers only after `hang` (longer than the client's timeout), accepting the message when `recorded`.
        case timeout(recorded: Bool)
        /// Accepts the message only after `hang`, when the client has long given up: WAHA finishing a
        /// send after its caller timed out.
        case completesAfterTimeout
        /// Writes a 201 head, then drops the connection, accepting the message when `recorded`.
        case resetConnection(recorded: Bool)
        /// 422 "session status is not as expected"; not accepted.
        case sessionNotWorking(SessionStatus)
        /// Any status with a `message`; not accepted.
        case status(Int, message: String)
    }

    public struct RecordedMessage: Hashable, Sendable {
        public let session: String
        public let chatId: String
        public let text: String
        public let id: String
        /// WAHA's timestamp (from the double's clock).
        public let timestamp: Date
        /// When the request really arrived, for pacing checks.
        public let arrivedAt: ContinuousClock.Instant
        /// When the send request arrived, by the double's clock (before its latency): the send's start.
        public let requestedAt: Date
    }

    struct State {
        var engine = Engine.gows
        var sessions: [String: SessionStatus] = [:]
        /// The `config` each session was created with, as JSON.
        var sessionConfigs: [String: Data] = [:]
        var statusAfterStart = SessionStatus.working
        /// How long a started session stays STARTING (none by default).
        var startingFor: Duration = .zero
        var startedAt: [String: ContinuousClock.Instant] = [:]
        var unknownSessionStatus: SessionStatus?
        var faults: [SendFault] = []
        var latency: Duration = .zero
        var hang: Duration = .seconds(3)
        var recorded: [RecordedMessage] = []
        var sendRequests = 0
        var openSends = 0
        var maxOpenSends = 0
        var messageListFails = false
        var serverVersionFails = false
        var ackBeforeReply = false
        var apiKey: String?
        var requests: [LoggedRequest] = []
        var logsRequests = true
        var reservedIds: Set<String> = []
        var groups: [ChatSummary] = [ChatSummary(id: "120363025@g.us", name: "Church choir")]
    }

    /// A request as it arrived, for conformance checks against WAHA's OpenAPI spec.
    public struct LoggedRequest: Hashable, Sendable {
        public let method: String
        public let path: String
        public let query: [String: String]
        public let body: Data?
    }

    private let state = Mutex(State())
    private let boundPort = Mutex<Int?>(nil)
    /// Stamps accepted messages, as WAHA's own clock would.
    private let clock: any WallClock

    public init(clock: any WallClock = SystemWallClock()) { self.clock = clock }

    // MARK: Controls

    public var port: Int { boundPort.withLock { $0 ?? 0 } }
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// Every message accepted, in order.
    public var recorded: [RecordedMessage] { state.withLock { $0.recorded } }
    /// How many `sendText` requests arrived, accepted or not.
    public var sendRequests: Int { state.withLock { $0.sendRequests } }
    /// The most `sendText` requests that were being handled at the same time.
    public var maxConcurrentSends: Int { state.withLock { $0.maxOpenSends } }
    /// Every request that arrived, in order.
    public var requests: [LoggedRequest] { state.withLock { $0.requests } }

    public func setEngine(_ engine: Engine) { state.withLock { $0.engine = engine } }
    public func setLatency(_ latency: Duration) { state.withLock { $0.latency = latency } }
    public func setHang(_ hang: Duration) { state.withLock { $0.hang = hang } }
    public func failNextSends(_ faults: [SendFault]) { state.withLock { $0.faults += faults } }
    public func setSessionStatus(_ name: String, _ status: SessionStatus) {
        state.withLock {
            $0.sessions[name] = status
        }
    }
    /// The status of sessions never created or set; `nil` (the default, as in WAHA) makes them unknown
    /// (404). Tests that do not care about sessions set `.working`.
    public func setUnknownSessionStatus(_ status: SessionStatus?) { state.withLock { $0.unknownSessionStatus = status } }
    /// What a created or (re)started session becomes after STARTING: WORKING (a phone already paired)
    /// by default, or SCAN_QR_CODE.
    public func setStatusAfterStart(_ status: SessionStatus) { state.withLock { $0.statusAfterStart = status } }
    /// Started sessions answer STARTING for `duration` before they are what a start makes them.
    public func setStartingFor(_ duration: Duration) { state.withLock { $0.startingFor = duration } }
    /// Posts each accepted message's DEVICE receipt before answering the send (a receipt that beats
    /// the send's reply).
    public func setAckBeforeReply(_ on: Bool) { state.withLock { $0.ackBeforeReply = on } }
    /// The `config` object the session was created with through `POST /api/sessions`.
    public func sessionConfig(_ name: String) -> [String: Any]? {
        state.withLock { $0.sessionConfigs[name] }.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }
    /// Makes a session exist, as if created outside Crier (no config), or with `config`.
    public func addSession(_ name: String, status: SessionStatus, metadata: [String: String]? = nil, config: [String: Any]? = nil) {
        var config = config ?? [:]
        if let metadata { config["metadata"] = metadata }
        let data = config.isEmpty ? nil : try? JSONSerialization.data(withJSONObject: config)
        state.withLock {
            $0.sessions[name] = status
            $0.sessionConfigs[name] = data
        }
    }
    public func setMessageListFails(_ fails: Bool) { state.withLock { $0.messageListFails = fails } }
    /// `/api/server/version` answers 500 (WAHA busy or broken), so its engine is not known.
    public func setServerVersionFails(_ fails: Bool) { state.withLock { $0.serverVersionFails = fails } }
    public func requireAPIKey(_ key: String?) { state.withLock { $0.apiKey = key } }

    /// Runs the double on a free loopback port for the duration of `body`. With `everySessionWorking`,
    /// any session name is a WORKING session (for tests about sending, not sessions). Afterwards every
    /// request it received is checked against WAHA's OpenAPI spec (`WAHASpec`); one that breaks it
    /// throws `WAHAConformanceError`, unless `checkingRequests` is off (benchmarks).
    public static func withRunning<T: Sendable>(
        clock: any WallClock = SystemWallClock(), everySessionWorking: Bool = false, checkingRequests: Bool = true,
        _ body: (WAHADouble) async throws -> T
    ) async throws -> T {
        let double = WAHADouble(clock: clock)
        if everySessionWorking { double.setUnknownSessionStatus(.working) }
        double.state.withLock { $0.logsRequests = checkingRequests }
        var logger = Logger(label: "waha-double")
        logger.logLevel = .error
        let app = Application(
            router: double.router(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in double.boundPort.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            while double.boundPort.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(5)) }
            do {
                let result = try await body(double)
                await services.triggerGracefulShutdown()
                try await group.waitForAll()
                if checkingRequests {
                    let problems = await WAHASpec.problems(double.requests)
                    if !problems.isEmpty { throw WAHAConformanceError(problems: problems) }
                }
                return result
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
        }
    }

    // MARK: The API

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: APIKeyCheck(double: self))
        router.add(middleware: RequestLog(double: self))
        router.post("api/sendText") { request, context in try await self.sendText(request, context: context) }
        addControls(to: router)
        router.get("api/:session/chats/:chatId/messages") { request, context in
            try self.messages(request, context: context)
        }
        router.get("api/:session/chats/:chatId/messages/:messageId") { _, context in
            try self.message(context: context)
        }
        router.get("api/:session/new-message-id") { _, context in
            let session = try context.parameters.require("session")
            if let refusal = self.refuseUnlessRunning(session) { return refusal }
            guard self.state.withLock({ $0.engine.takesMessageIds }) else { return Self.notImplemented() }
            let id = "3EB0" + Self.randomHex(18)
            self.state.withLock { _ = $0.reservedIds.insert(id) }
            return Self.rawJSON(#"{"id":"\#(id)"}"#)
        }
        router.get("api/sessions/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let status = self.sessionStatus(name) else {
                return Self.nestError(404, "Session \"\(name)\" not found")
            }
            var info: [String: Any] = [
                "name": name, "status": status.rawValue, "presence": NSNull(), "timestamps": ["activity": NSNull()],
                "engine": ["engine": self.state.withLock { $0.engine.name }],
            ]
            info["config"] = self.sessionConfig(name)
            if status == .working { info["me"] = ["id": Self.phoneNumber(of: name) + "@c.us", "pushName": "Phone of \(name)"] }
            return Self.json(info)
        }
        router.post("api/sessions") { request, context in
            let body = try await Self.body(request, context: context)
            let name = body["name"] as? String ?? "default"
            let exists = self.state.withLock { $0.sessions[name] != nil }
            guard !exists else { return Self.nestError(422, "Session '\(name)' already exists") }
            let config = (body["config"] as? [String: Any]).flatMap { try? JSONSerialization.data(withJSONObject: $0) }
            self.state.withLock {
                $0.sessions[name] = $0.statusAfterStart
                $0.startedAt[name] = .now
                $0.sessionConfigs[name] = config
            }
            return Self.json(["name": name, "status": SessionStatus.starting.rawValue], status: .created)
        }
        router.put("api/sessions/:name") { request, context in
            let name = try context.parameters.require("name")
            guard self.state.withLock({ $0.sessions[name] != nil }) else { return Self.nestError(404, "Session \"\(name)\" not found") }
            let body = try await Self.body(request, context: context)
            let config = (body["config"] as? [String: Any]).flatMap { try? JSONSerialization.data(withJSONObject: $0) }
            let restarted = self.state.withLock { state in
                state.sessionConfigs[name] = config
                guard state.sessions[name] != .stopped else { return false }
                state.sessions[name] = state.statusAfterStart  // WAHA restarts a running session to apply it
                return true
            }
            return Self.json(["name": name, "status": restarted ? "STARTING" : "STOPPED"])
        }
        for command in ["start", "restart", "logout", "stop"] {
            router.post("api/sessions/:name/\(command)") { _, context in
                let name = try context.parameters.require("name")
                guard self.sessionStatus(name) != nil else { return Self.nestError(404, "Session \"\(name)\" not found") }
                let status: SessionStatus = self.state.withLock { state in
                    switch command {
                    case "stop":
                        state.sessions[name] = .stopped
                        return .stopped
                    case "logout":
                        state.sessions[name] = .scanQRCode
                        return .scanQRCode
                    default:  // answers STARTING; the session is then what a start makes it
                        state.sessions[name] = state.statusAfterStart
                        return .starting
                    }
                }
                return Self.json(["name": name, "status": status.rawValue], status: .created)
            }
        }
        router.get("api/:session/auth/qr") { _, context in
            let name = try context.parameters.require("session")
            if let refusal = self.refuseUnlessRunning(name) { return refusal }
            guard self.sessionStatus(name) == .scanQRCode else {
                // Nest's default body: WAHA's QR endpoint does not say the status.
                return Self.nestError(422, "Can not get QR code, session status is not SCAN_QR_CODE")
            }
            return Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: Self.png)))
        }
        router.get("api/:session/groups") { _, context in
            if let refusal = self.refuseUnlessRunning(try context.parameters.require("session")) { return refusal }
            return self.groupsResponse()
        }
        router.get("api/contacts/all") { request, _ in
            let session = request.uri.queryParameters.get("session") ?? ""
            if let refusal = self.refuseUnlessRunning(session) { return refusal }
            if let refusal = self.refuseWithoutHistory(session) { return refusal }
            let all = [["id": "254700000001@c.us", "name": "Mary"], ["id": "254700000002@c.us", "pushname": "John"]]
            let offset = request.uri.queryParameters.get("offset").flatMap(Int.init) ?? 0
            let limit = request.uri.queryParameters.get("limit").flatMap(Int.init) ?? all.count
            return Self.json(Array(all.dropFirst(offset).prefix(limit)))
        }
        router.get("api/server/version") { _, _ in
            let (engine, fails) = self.state.withLock { ($0.engine, $0.serverVersionFails) }
            if fails { return Self.nestError(500, "Internal server error") }
            return Self.json([
                "version": "2026.7.1", "engine": engine.name, "tier": "CORE",
                "browser": engine.name == "WEBJS" ? "/usr/bin/chromium" : "", "platform": "linux/x64",
                "worker": ["id": NSNull()],
            ])
        }
        return router
    }

    /// The number a session's "phone" has in the double: digits derived from its name.
    public static func phoneNumber(of session: String) -> String {
        "2547" + String(format: "%08d", abs(session.utf8.reduce(7) { ($0 &* 31 &+ Int($1)) % 100_000_000 }))
    }

    /// The session's status. A session created or (re)started answers STARTING to that request, and is
    /// then what a start makes it (`statusAfterStart`) — after `startingFor`, as WAHA takes a few
    /// seconds to start a browser or a socket.
    private func sessionStatus(_ name: String) -> SessionStatus? {
        state.withLock { state in
            if let started = state.startedAt[name], ContinuousClock.now - started < state.startingFor { return .starting }
            return state.sessions[name] ?? state.unknownSessionStatus
        }
    }

    /// WAHA's answer for any session that is not running: unknown, or STOPPED.
    private func refuseUnlessRunning(_ session: String) -> Response? {
        let status = sessionStatus(session)
        guard status == nil || status == .stopped else { return nil }
        return Self.nestError(
            404,
            "We didn't find a session with name '\(session)'.\nPlease start it first by using POST /api/sessions/\(session)/start request")
    }

    /// NOWEB keeps no history (nor contacts) unless the session was created with its store enabled.
    private func refuseWithoutHistory(_ session: String) -> Response? {
        guard state.withLock({ $0.engine }) == .noweb else { return nil }
        let store = (sessionConfig(session)?["noweb"] as? [String: Any])?["store"] as? [String: Any]
        guard store?["enabled"] as? Bool != true else { return nil }
        return Self.nestError(
            400,
            "Enable NOWEB store \"config.noweb.store.enabled=True\" and \"config.noweb.store.full_sync=True\" when starting a new session. Read more: https://waha.devlike.pro/docs/engines/noweb#store")
    }

    private func sendText(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await Self.body(request, context: context)
        guard let session = body["session"] as? String, let chatId = body["chatId"] as? String,
            let text = body["text"] as? String
        else { return Self.nestError(400, ["session, chatId and text are required"]) }
        let requestedId = body["id"] as? String
        let requestedAt = clock.now()
        let (latency, fault, engine, hang) = state.withLock { state in
            state.sendRequests += 1
            state.openSends += 1
            state.maxOpenSends = max(state.maxOpenSends, state.openSends)
            return (state.latency, state.faults.isEmpty ? nil : state.faults.removeFirst(), state.engine, state.hang)
        }
        defer { state.withLock { $0.openSends -= 1 } }
        if latency > .zero { try await Task.sleep(for: latency) }
        if let refusal = refuseUnlessRunning(session) { return refusal }
        guard let status = sessionStatus(session), status == .working else {
            return Self.notWorking(session, sessionStatus(session) ?? .stopped)
        }
        if requestedId != nil && !engine.takesMessageIds { return Self.notImplemented() }
        func accept() async -> RecordedMessage {
            let message = record(session: session, chatId: chatId, text: text, rawId: requestedId, requestedAt: requestedAt)
            if state.withLock({ $0.ackBeforeReply }) { await postAck(message, level: .device) }
            return message
        }
        switch fault {
        case nil, .ordinary?:
            let message = await accept()
            return Self.sendResponse(message, engine: engine)
        case .serverError(let recorded):
            if recorded { _ = await accept() }
            return Self.json(["statusCode": 500, "exception": ["message": "2 UNKNOWN: server returned error 500"]], status: .internalServerError)
        case .timeout(let recorded):
            let message = recorded ? await accept() : nil
            try await Task.sleep(for: hang)
            return message.map { Self.sendResponse($0, engine: engine) } ?? Self.json(["statusCode": 500], status: .internalServerError)
        case .completesAfterTimeout:
            try await Task.sleep(for: hang)
            return Self.sendResponse(await accept(), engine: engine)
        case .resetConnection(let recorded):
            if recorded { _ = await accept() }
            return Response(
                status: .created, headers: [.contentType: "application/json", .contentLength: "4096"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "{\"id\":"))
                    throw CancellationError()
                })
        case .sessionNotWorking(let status):
            return Self.notWorking(session, status)
        case .status(let code, let message):
            return Self.json(["statusCode": code, "message": message], status: .init(code: code))
        }
    }

    /// `GET /api/{session}/chats/{chatId}/messages`, with `filter.fromMe`, `filter.timestamp.gte`/`lte`
    /// (seconds), `limit`, `offset`, `sortBy` and `sortOrder`.
    private func messages(_ request: Request, context: BasicRequestContext) throws -> Response {
        let session = try context.parameters.require("session")
        let chatId = try context.parameters.require("chatId").removingPercentEncoding ?? ""
        if let refusal = refuseUnlessRunning(session) { return refusal }
        if let refusal = refuseWithoutHistory(session) { return refusal }
        let query = request.uri.queryParameters
        if state.withLock({ $0.messageListFails }) {
            return Self.json(["statusCode": 500, "exception": ["message": "store disabled"]], status: .internalServerError)
        }
        let gte = query.get("filter.timestamp.gte").flatMap(Double.init) ?? 0
        let lte = query.get("filter.timestamp.lte").flatMap(Double.init) ?? .infinity
        let fromMe = query.get("filter.fromMe").map { $0 == "true" }
        let limit = query.get("limit").flatMap(Int.init) ?? 10
        let offset = query.get("offset").flatMap(Int.init) ?? 0
        var items = recorded.filter { message in
            let seconds = message.timestamp.timeIntervalSince1970.rounded(.down)
            // The double only records messages it sent itself: all are fromMe.
            return message.session == session && (chatId == "all" || message.chatId == chatId) && seconds >= gte
                && seconds <= lte && fromMe != false
        }
        items.sort { $0.timestamp < $1.timestamp }
        if query.get("sortOrder") != "asc" { items.reverse() }
        let engine = state.withLock { $0.engine }
        return Self.json(items.dropFirst(offset).prefix(limit).map { Self.messageJSON($0, engine: engine) })
    }

    /// `GET /api/{session}/chats/{chatId}/messages/{messageId}`: by serialized or raw id; 404 when absent.
    private func message(context: BasicRequestContext) throws -> Response {
        let session = try context.parameters.require("session")
        let chatId = try context.parameters.require("chatId").removingPercentEncoding ?? ""
        let id = try context.parameters.require("messageId").removingPercentEncoding ?? ""
        if let refusal = refuseUnlessRunning(session) { return refusal }
        if let refusal = refuseWithoutHistory(session) { return refusal }
        let engine = state.withLock { $0.engine }
        guard let found = recorded.last(where: { $0.session == session && $0.chatId == chatId && ($0.id == id || Self.raw($0.id) == id) })
        else { return Self.nestError(404, "Message not found") }
        return Self.json(Self.messageJSON(found, engine: engine))
    }

    private static func messageJSON(_ message: RecordedMessage, engine: Engine) -> [String: Any] {
        [
            "id": message.id, "timestamp": Int(message.timestamp.timeIntervalSince1970), "from": message.chatId,
            "fromMe": true, "to": message.chatId, "body": message.text, "hasMedia": false, "ack": 1, "ackName": "SERVER",
        ]
    }

    private func groupsResponse() -> Response {
        let (engine, groups) = state.withLock { ($0.engine, $0.groups) }
        switch engine {
        case .noweb:
            return Self.json(Dictionary(uniqueKeysWithValues: groups.map { ($0.id, ["id": $0.id, "subject": $0.name ?? ""] as [String: Any]) }))
        case .gows:
            return Self.json(groups.map { ["JID": $0.id, "Name": $0.name ?? ""] })
        case .webjs, .emptyBody, .webjsDollarOne:
            return Self.json(groups.map { ["id": ["_serialized": $0.id], "name": $0.name ?? ""] })
        }
    }

    private func record(
        session: String, chatId: String, text: String, rawId: String?, requestedAt: Date
    ) -> RecordedMessage {
        let raw = rawId ?? "3EB0" + Self.randomHex(18)
        let message = RecordedMessage(
            session: session, chatId: chatId, text: text, id: "true_\(chatId)_\(raw)", timestamp: clock.now(),
            arrivedAt: .now, requestedAt: requestedAt)
        state.withLock { $0.recorded.append(message) }
        return message
    }

    // MARK: Controls over HTTP

    /// What a browser test does to "the phone" from outside the test process: not WAHA's API (and not
    /// checked against its spec). `POST /_double/sessions/{name}/status/{STATUS}` sets a session's
    /// status (the phone scanned the QR code: WORKING) and posts WAHA's `session.status` webhook;
    /// `POST /_double/acks/{level}` posts that receipt for every message accepted so far.
    private func addControls(to router: Router<BasicRequestContext>) {
        router.post("_double/sessions/:name/status/:status") { _, context in
            let name = try context.parameters.require("name")
            guard let status = SessionStatus(rawValue: try context.parameters.require("status")) else {
                return Self.nestError(400, "no such status")
            }
            self.setSessionStatus(name, status)
            await self.postSessionStatus(name, status: status)
            return Self.json(["name": name, "status": status.rawValue])
        }
        router.get("_double/messages") { _, _ in
            Self.json(self.recorded.map { message -> [String: Any] in
                ["text": message.text, "chatId": message.chatId, "session": message.session,
                 "timestamp": Int((message.timestamp.timeIntervalSince1970 * 1000).rounded())]
            })
        }
        router.post("_double/acks/:level") { _, context in
            guard let level = Int(try context.parameters.require("level")).flatMap(AckLevel.init(rawValue:)) else {
                return Self.nestError(400, "no such level")
            }
            let messages = self.recorded
            for message in messages { await self.postAck(message, level: level) }
            return Self.json(["acknowledged": messages.count])
        }
    }

    // MARK: Webhooks

    /// Posts WAHA's `session.status` event to the session's webhook, when it has one.
    public func postSessionStatus(_ session: String, status: SessionStatus) async {
        await postEvent(session: session, event: "session.status", payload: ["status": status.rawValue])
    }

    /// Posts a receipt for `message` to the webhook its session was created with, signed as WAHA signs
    /// (`X-Webhook-Hmac`: hex HMAC-SHA512 of the raw body with the configured key).
    public func postAck(_ message: RecordedMessage, level: AckLevel) async {
        await postEvent(
            session: message.session, event: message.chatId.hasSuffix("@g.us") ? "message.ack.group" : "message.ack",
            payload: [
                "id": message.id, "from": message.chatId, "to": message.chatId, "fromMe": true,
                "ack": level.rawValue, "ackName": "\(level)".uppercased(),
            ])
    }

    /// Posts one event envelope to the webhook `session` was created with, signed as WAHA signs.
    private func postEvent(session: String, event name: String, payload: [String: Any]) async {
        guard let hook = (sessionConfig(session)?["webhooks"] as? [[String: Any]])?.first,
            let url = hook["url"] as? String
        else { return }
        let event: [String: Any] = [
            "id": "evt_" + Self.randomHex(26).lowercased(), "timestamp": Int(clock.now().timeIntervalSince1970 * 1000),
            "event": name, "session": session, "engine": state.withLock { $0.engine.name }, "payload": payload,
        ]
        guard let body = try? JSONSerialization.data(withJSONObject: event) else { return }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key = (hook["hmac"] as? [String: Any])?["key"] as? String {
            let signature = HMAC<SHA512>.authenticationCode(for: body, using: SymmetricKey(data: Data(key.utf8)))
            request.headers.add(name: "X-Webhook-Hmac", value: signature.map { String(format: "%02x", $0) }.joined())
            request.headers.add(name: "X-Webhook-Hmac-Algorithm", value: "sha512")
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        _ = try? await HTTPClient.shared.execute(request, timeout: .seconds(5))
    }

    // MARK: Answers

    /// Each engine's own answer to a send, written straight into the buffer (the benchmarks send
    /// thousands a second, and JSONSerialization was a fifth of the double's CPU).
    private static func sendResponse(_ message: RecordedMessage, engine: Engine) -> Response {
        let raw = Self.raw(message.id)
        var body = ByteBuffer()
        switch engine {
        case .gows:
            body.writeStaticString(#"{"id":"#)
            body.writeJSONString(message.id)
            body.writeStaticString(#","_data":{}}"#)
        case .webjs, .webjsDollarOne:
            body.writeStaticString(#"{"id":{"fromMe":true,"remote":"#)
            body.writeJSONString(message.chatId)
            body.writeStaticString(#","id":"#)
            body.writeJSONString(raw)
            body.writeStaticString(engine == .webjs ? #","_serialized":"# : #","$1":"#)
            body.writeJSONString(message.id)
            body.writeStaticString(#"},"body":"#)
            body.writeJSONString(message.text)
            body.writeStaticString("}")
        case .noweb:
            body.writeStaticString(#"{"key":{"remoteJid":"#)
            body.writeJSONString(message.chatId)
            body.writeStaticString(#","fromMe":true,"id":"#)
            body.writeJSONString(raw)
            body.writeStaticString(#"},"status":"PENDING"}"#)
        case .emptyBody:
            return Response(status: .created)
        }
        return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    static func raw(_ serialized: String) -> String {
        let parts = serialized.split(separator: "_")
        return parts.count >= 3 ? String(parts[2]) : serialized
    }

    /// `count` random uppercase hex digits (one system random draw per 16 digits, not per digit: the
    /// benchmarks ask for one per message).
    static func randomHex(_ count: Int) -> String {
        var digits = ""
        while digits.count < count {
            let chunk = String(UInt64.random(in: .min ... .max), radix: 16, uppercase: true)
            digits += String(repeating: "0", count: 16 - chunk.count) + chunk
        }
        return String(digits.prefix(count))
    }

    private static func notWorking(_ session: String, _ status: SessionStatus) -> Response {
        json([
            "error": "Session status is not as expected. Try again later or restart the session", "session": session,
            "status": status.rawValue, "expected": ["WORKING"],
        ], status: .unprocessableContent)
    }

    /// NestJS's default error body, which WAHA's exceptions produce.
    static func nestError(_ status: Int, _ message: Any) -> Response {
        let error = HTTPResponse.Status(code: status).reasonPhrase
        return json(["statusCode": status, "message": message, "error": error], status: .init(code: status))
    }

    private static func notImplemented() -> Response {
        nestError(422, "The method is not implemented by the engine. Try another engine or open an issue.")
    }

    static func body(_ request: Request, context: BasicRequestContext) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: 1 << 24)
        return (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]) ?? [:]
    }

    /// A JSON body already written (the answers sent for every message, kept cheap for benchmarks).
    static func rawJSON(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: value)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A 1×1 PNG.
    static let png: [UInt8] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
        0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]

    /// Keeps every request (method, path, query, body) for the conformance check.
    struct RequestLog: RouterMiddleware {
        typealias Context = BasicRequestContext
        let double: WAHADouble
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            guard double.state.withLock({ $0.logsRequests }), !request.uri.path.hasPrefix("/_double/") else {
                return try await next(request, context)
            }
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 24)
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let logged = LoggedRequest(
                method: request.method.rawValue, path: request.uri.path, query: query,
                body: buffer.readableBytes > 0 ? Data(buffer.readableBytesView) : nil)
            double.state.withLock { $0.requests.append(logged) }
            return try await next(request, context)
        }
    }

    struct APIKeyCheck: RouterMiddleware {
        typealias Context = BasicRequestContext
        let double: WAHADouble
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            if let key = double.state.withLock({ $0.apiKey }), request.headers[.init("X-Api-Key")!] != key {
                return WAHADouble.json(["message": "Unauthorized", "statusCode": 401], status: .unauthorized)
            }
            return try await next(request, context)
        }
    }
}
