import CrierCore
import CrierGateway
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A stand-in for WAHA: a real HTTP server on a loopback port speaking the subset of the WAHA API that
/// Crier uses (shared/reference/waha-api.md). It records every message it accepts, serves them back
/// for reconciliation, and can be told to add latency or fail in each way the real gateway does.
public final class WAHADouble: Sendable {
    /// Which engine's `sendText` and groups response shapes to answer with.
    public enum Engine: Sendable {
        case noweb, gows, webjs
        /// WEBJS 2025.6.5's regression: 201 with an empty body.
        case emptyBody
    }

    /// A fault for the next `sendText` request (consumed in order, one per request).
    public enum SendFault: Sendable {
        /// 500, after accepting the message when `recorded`.
        case serverError(recorded: Bool)
        /// Answers only after `hang` (longer than the client's timeout), accepting the message when `recorded`.
        case timeout(recorded: Bool)
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
    }

    struct State {
        var engine = Engine.gows
        var sessions: [String: SessionStatus] = [:]
        /// The `config` each session was created with, as JSON.
        var sessionConfigs: [String: Data] = [:]
        var unknownSessionStatus: SessionStatus? = .working
        var faults: [SendFault] = []
        var latency: Duration = .zero
        var hang: Duration = .seconds(3)
        var recorded: [RecordedMessage] = []
        var sendRequests = 0
        var openSends = 0
        var maxOpenSends = 0
        var messageListFails = false
        var apiKey: String?
        var groups: [ChatSummary] = [ChatSummary(id: "120363025@g.us", name: "Church choir")]
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

    public func setEngine(_ engine: Engine) { state.withLock { $0.engine = engine } }
    public func setLatency(_ latency: Duration) { state.withLock { $0.latency = latency } }
    public func setHang(_ hang: Duration) { state.withLock { $0.hang = hang } }
    public func failNextSends(_ faults: [SendFault]) { state.withLock { $0.faults += faults } }
    public func setSessionStatus(_ name: String, _ status: SessionStatus) { state.withLock { $0.sessions[name] = status } }
    /// The status of sessions never set explicitly; `nil` makes them unknown (404).
    public func setUnknownSessionStatus(_ status: SessionStatus?) { state.withLock { $0.unknownSessionStatus = status } }
    /// The `config` object the session was created with through `POST /api/sessions`.
    public func sessionConfig(_ name: String) -> [String: Any]? {
        state.withLock { $0.sessionConfigs[name] }.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }
    /// Makes a session exist as if created outside Crier (or by Crier, with `metadata`).
    public func addSession(_ name: String, status: SessionStatus, metadata: [String: String]? = nil) {
        let config = metadata.flatMap { try? JSONSerialization.data(withJSONObject: ["metadata": $0]) }
        state.withLock {
            $0.sessions[name] = status
            $0.sessionConfigs[name] = config
        }
    }
    public func setMessageListFails(_ fails: Bool) { state.withLock { $0.messageListFails = fails } }
    public func requireAPIKey(_ key: String?) { state.withLock { $0.apiKey = key } }

    /// Runs the double on a free loopback port for the duration of `body`.
    public static func withRunning<T: Sendable>(
        clock: any WallClock = SystemWallClock(), _ body: (WAHADouble) async throws -> T
    ) async throws -> T {
        let double = WAHADouble(clock: clock)
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
        router.post("api/sendText") { request, context in try await self.sendText(request, context: context) }
        router.get("api/:session/chats/:chatId/messages") { request, context in
            try self.messages(request, context: context)
        }
        router.get("api/sessions/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let status = self.sessionStatus(name) else { return Self.json(["message": "We didn't find a session with name '\(name)'"], status: .notFound) }
            var info: [String: Any] = ["name": name, "status": status.rawValue, "engine": ["engine": "GOWS"]]
            info["config"] = self.sessionConfig(name)
            return Self.json(info)
        }
        router.post("api/sessions") { request, context in
            let body = try await Self.body(request, context: context)
            let name = body["name"] as? String ?? "default"
            let exists = self.state.withLock { $0.sessions[name] != nil }
            guard !exists else {
                return Self.json(["statusCode": 422, "message": "Session '\(name)' already exists", "error": "Unprocessable Entity"], status: .unprocessableContent)
            }
            let config = (body["config"] as? [String: Any]).flatMap { try? JSONSerialization.data(withJSONObject: $0) }
            self.state.withLock {
                $0.sessions[name] = .scanQRCode
                $0.sessionConfigs[name] = config
            }
            return Self.json(["name": name, "status": SessionStatus.scanQRCode.rawValue], status: .created)
        }
        for (command, status) in [("start", SessionStatus.scanQRCode), ("restart", .starting), ("logout", .scanQRCode), ("stop", .stopped)] {
            router.post("api/sessions/:name/\(command)") { _, context in
                let name = try context.parameters.require("name")
                guard self.sessionStatus(name) != nil else { return Self.json(["message": "not found"], status: .notFound) }
                self.setSessionStatus(name, status)
                return Self.json(["name": name, "status": status.rawValue], status: .created)
            }
        }
        router.get("api/:session/auth/qr") { _, context in
            let name = try context.parameters.require("session")
            guard self.sessionStatus(name) == .scanQRCode else {
                return Self.json(["error": "Session status is not as expected", "status": self.sessionStatus(name)?.rawValue ?? "STOPPED", "expected": ["SCAN_QR_CODE"]], status: .unprocessableContent)
            }
            return Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: Self.png)))
        }
        router.get("api/:session/groups") { _, _ in self.groupsResponse() }
        router.get("api/contacts/all") { _, _ in
            Self.json([["id": "254700000001@c.us", "name": "Mary"], ["id": "254700000002@c.us", "pushname": "John"]])
        }
        router.get("api/server/version") { _, _ in Self.json(["version": "2026.7.1", "engine": "GOWS", "tier": "CORE"]) }
        return router
    }

    private func sessionStatus(_ name: String) -> SessionStatus? {
        state.withLock { $0.sessions[name] ?? $0.unknownSessionStatus }
    }

    private func sendText(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await Self.body(request, context: context)
        guard let session = body["session"] as? String, let chatId = body["chatId"] as? String,
            let text = body["text"] as? String
        else { return Self.json(["statusCode": 400, "message": ["session, chatId and text are required"], "error": "Bad Request"], status: .badRequest) }
        let (latency, fault, engine, hang) = state.withLock { state in
            state.sendRequests += 1
            state.openSends += 1
            state.maxOpenSends = max(state.maxOpenSends, state.openSends)
            return (state.latency, state.faults.isEmpty ? nil : state.faults.removeFirst(), state.engine, state.hang)
        }
        defer { state.withLock { $0.openSends -= 1 } }
        if latency > .zero { try await Task.sleep(for: latency) }
        guard let status = sessionStatus(session) else {
            return Self.json(["message": "We didn't find a session with name '\(session)'"], status: .notFound)
        }
        guard status == .working else { return Self.notWorking(session, status) }
        switch fault {
        case nil:
            return Self.sendResponse(record(session: session, chatId: chatId, text: text), engine: engine)
        case .serverError(let recorded):
            if recorded { _ = record(session: session, chatId: chatId, text: text) }
            return Self.json(["statusCode": 500, "exception": ["message": "2 UNKNOWN: server returned error 500"]], status: .internalServerError)
        case .timeout(let recorded):
            let message = recorded ? record(session: session, chatId: chatId, text: text) : nil
            try await Task.sleep(for: hang)
            return message.map { Self.sendResponse($0, engine: engine) } ?? Self.json(["statusCode": 500], status: .internalServerError)
        case .resetConnection(let recorded):
            if recorded { _ = record(session: session, chatId: chatId, text: text) }
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

    private func messages(_ request: Request, context: BasicRequestContext) throws -> Response {
        let session = try context.parameters.require("session")
        let chatId = try context.parameters.require("chatId").removingPercentEncoding ?? ""
        let query = request.uri.queryParameters
        if state.withLock({ $0.messageListFails }) {
            return Self.json(["statusCode": 500, "exception": ["message": "store disabled"]], status: .internalServerError)
        }
        let since = query.get("filter.timestamp.gte").flatMap(Double.init) ?? 0
        let items = recorded.filter {
            $0.session == session && $0.chatId == chatId && $0.timestamp.timeIntervalSince1970.rounded(.down) >= since
        }.reversed().map { message -> [String: Any] in
            ["id": message.id, "timestamp": Int(message.timestamp.timeIntervalSince1970), "fromMe": true, "body": message.text, "ack": 1]
        }
        return Self.json(Array(items))
    }

    private func groupsResponse() -> Response {
        let (engine, groups) = state.withLock { ($0.engine, $0.groups) }
        switch engine {
        case .noweb:
            return Self.json(Dictionary(uniqueKeysWithValues: groups.map { ($0.id, ["id": $0.id, "subject": $0.name ?? ""] as [String: Any]) }))
        case .gows:
            return Self.json(groups.map { ["JID": $0.id, "Name": $0.name ?? ""] })
        case .webjs, .emptyBody:
            return Self.json(groups.map { ["id": ["_serialized": $0.id], "name": $0.name ?? ""] })
        }
    }

    private func record(session: String, chatId: String, text: String) -> RecordedMessage {
        let raw = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20))
        let message = RecordedMessage(
            session: session, chatId: chatId, text: text, id: "true_\(chatId)_3EB0\(raw)", timestamp: clock.now(), arrivedAt: .now)
        state.withLock { $0.recorded.append(message) }
        return message
    }

    private static func sendResponse(_ message: RecordedMessage, engine: Engine) -> Response {
        let raw = message.id.split(separator: "_").last.map(String.init) ?? ""
        switch engine {
        case .gows:
            return json(["id": message.id, "_data": [:] as [String: Any]], status: .created)
        case .webjs:
            return json(["id": ["fromMe": true, "remote": message.chatId, "id": raw, "_serialized": message.id], "body": message.text], status: .created)
        case .noweb:
            return json(["key": ["remoteJid": message.chatId, "fromMe": true, "id": raw], "status": "PENDING"], status: .created)
        case .emptyBody:
            return Response(status: .created)
        }
    }

    private static func notWorking(_ session: String, _ status: SessionStatus) -> Response {
        json([
            "error": "Session status is not as expected. Try again later or restart the session", "session": session,
            "status": status.rawValue, "expected": ["WORKING"],
        ], status: .unprocessableContent)
    }

    static func body(_ request: Request, context: BasicRequestContext) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: 1 << 24)
        return (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]) ?? [:]
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
