import AsyncHTTPClient
import CrierCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// A client of the real WAHA HTTP API (see shared/reference/waha-api.md): a domain-shaped API over
/// AsyncHTTPClient, with every failure classified for the dispatcher.
public struct WAHAClient: Gateway {
    public let kind = "waha"

    /// Called after every request with the operation name, its duration and whether it succeeded.
    public typealias RequestObserver = @Sendable (_ operation: String, _ duration: Duration, _ succeeded: Bool) -> Void

    let baseURL: String
    let apiKey: String?
    let httpClient: HTTPClient
    let sendTimeout: TimeAmount
    let requestTimeout: TimeAmount
    let observe: RequestObserver
    let serverEngine: WAHAServerEngine

    /// `sendTimeout` covers WAHA's own wait for a WORKING session (≈5 s) with margin; the engine WAHA
    /// runs is asked again after `engineRecheck`.
    public init(
        baseURL: String, apiKey: String?, httpClient: HTTPClient = .shared, sendTimeout: TimeAmount = .seconds(30),
        requestTimeout: TimeAmount = .seconds(15), engineRecheck: Duration = .seconds(600),
        observe: @escaping RequestObserver = { _, _, _ in }
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.httpClient = httpClient
        self.sendTimeout = sendTimeout
        self.requestTimeout = requestTimeout
        self.observe = observe
        self.serverEngine = WAHAServerEngine(recheck: engineRecheck)
    }

    /// An HTTP client for one WAHA host that can really hold `maxConnections` requests open at once
    /// (AsyncHTTPClient's default is 8 per host). The caller shuts it down.
    public static func makeHTTPClient(maxConnections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        // A WAHA that is down fails fast instead of holding a request (and its caller) for long.
        configuration.timeout.connect = .seconds(2)
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, maxConnections))
        // Crier bootstraps no tracer; AsyncHTTPClient would otherwise parse each URL again to fill in
        // the attributes of a no-op span (a tenth of the dispatcher's CPU in a burst).
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    // MARK: Sending

    public func sendText(_ message: OutgoingText) async throws -> SendReceipt {
        let response = try await request(
            .POST, "/api/sendText", body: Self.sendTextBody(message), timeout: sendTimeout, operation: "sendText")
        return SendReceipt(messageId: Self.messageId(in: response.body, chatId: message.chatId))
    }

    /// sendText's body as WAHA's spec names it, written straight into the request's buffer: it is the
    /// one request made for every message. No link previews (WAHA would spend seconds building them,
    /// making timeouts, and doubt, likelier); the reserved id (NOWEB, GOWS) only when there is one.
    static func sendTextBody(_ message: OutgoingText) -> ByteBuffer {
        var body = ByteBuffer()
        body.reserveCapacity(96 + message.session.utf8.count + message.chatId.utf8.count + message.text.utf8.count)
        body.writeStaticString(#"{"session":"#)
        body.writeJSONString(message.session)
        body.writeStaticString(#","chatId":"#)
        body.writeJSONString(message.chatId)
        body.writeStaticString(#","text":"#)
        body.writeJSONString(message.text)
        body.writeStaticString(#","linkPreview":false"#)
        if let id = message.messageId {
            body.writeStaticString(#","id":"#)
            body.writeJSONString(id)
        }
        body.writeStaticString("}")
        return body
    }

    public func recentMessagesFromMe(session: String, chatId: String, since: Date) async throws -> [GatewayMessage] {
        let query = [
            ("limit", "100"), ("downloadMedia", "false"), ("filter.fromMe", "true"),
            ("filter.timestamp.gte", String(Int(since.timeIntervalSince1970))), ("sortBy", "timestamp"),
            ("sortOrder", "desc"),
        ]
        let response = try await request(
            .GET, "/api/\(Self.segment(session))/chats/\(Self.segment(chatId))/messages", query: query,
            operation: "recentMessages")
        guard let items = try? JSONSerialization.jsonObject(with: response.body) as? [[String: Any]] else {
            throw GatewayFailure.ambiguous(reason: "WAHA answered the message list with something that is not a list")
        }
        return items.compactMap { Self.gatewayMessage($0, chatId: chatId) }
    }

    /// Asks WAHA for a message id to send with (NOWEB and GOWS take one; WEBJS does not). When WAHA
    /// says it runs WEBJS, no session is asked: each would refuse with a 422, one request per session
    /// (a thousand at the start of a burst over a thousand sessions).
    public func reserveMessageId(session: String) async throws -> String? {
        if await serverEngine.current(asking: { await self.askEngine() }) == "WEBJS" { return nil }
        do {
            let response = try await request(
                .GET, "/api/\(Self.segment(session))/new-message-id", operation: "newMessageId")
            let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
            return (object?["id"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        } catch GatewayFailure.rejected(let status, _, false) where [400, 404, 405, 422, 501].contains(status) {
            return nil  // the engine cannot (422 "not implemented"), or this WAHA predates the endpoint (404)
        }
    }

    /// The engine `/api/server/version` names, in upper case; `nil` when WAHA does not say (or cannot
    /// be asked: then each session is asked for an id, as before).
    private func askEngine() async -> String? {
        guard let reply = try? await request(.GET, "/api/server/version", operation: "serverVersion") else { return nil }
        return (((try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any])?["engine"] as? String)?.uppercased()
    }

    public func sentMessage(session: String, chatId: String, rawId: String) async throws -> GatewayMessage? {
        do {
            let response = try await request(
                .GET,
                "/api/\(Self.segment(session))/chats/\(Self.segment(chatId))/messages/\(Self.segment(rawId))",
                query: [("downloadMedia", "false")], operation: "message")
            guard let item = (try? JSONSerialization.jsonObject(with: response.body, options: .fragmentsAllowed))
                as? [String: Any]
            else { return nil }  // `null`: not there
            return Self.gatewayMessage(item, chatId: chatId)
        } catch GatewayFailure.rejected(404, _, _) {
            return nil
        }
    }

    static func gatewayMessage(_ item: [String: Any], chatId: String) -> GatewayMessage? {
        guard let body = item["body"] as? String else { return nil }
        let seconds = (item["timestamp"] as? NSNumber)?.doubleValue ?? 0
        return GatewayMessage(
            id: WAHAMessageIds.messageId(in: item, chatId: chatId), body: body, timestamp: Date(timeIntervalSince1970: seconds))
    }

    // MARK: Sessions

    /// The metadata key that names the Crier user who created a session.
    public static let ownerMetadataKey = "crier.owner"

    public func session(named name: String) async throws -> GatewaySession? {
        let response: Reply
        do {
            response = try await request(.GET, "/api/sessions/\(Self.segment(name))", operation: "session")
        } catch GatewayFailure.rejected(404, _, _) {
            return nil
        }
        let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        guard let status = (object?["status"] as? String).flatMap(SessionStatus.init(rawValue:)) else {
            throw GatewayFailure.ambiguous(reason: "WAHA did not report a status for session \(name)")
        }
        let config = object?["config"] as? [String: Any] ?? [:]
        let metadata = config["metadata"] as? [String: Any]
        let engine = ((object?["engine"] as? [String: Any])?["engine"] as? String)?.uppercased()
        let me = object?["me"] as? [String: Any]
        let phone = (me?["id"] as? String).map { String($0.prefix { $0 != "@" && $0 != ":" }) }
        return GatewaySession(
            name: name, status: status, owner: metadata?[Self.ownerMetadataKey] as? String,
            receiptsEnabled: Self.receiptsEnabled(engine: engine, config: config),
            historyEnabled: Self.historyEnabled(engine: engine, config: config),
            phoneNumber: phone.flatMap { $0.allSatisfy(\.isNumber) && !$0.isEmpty ? $0 : nil },
            pushName: (me?["pushName"] as? String).flatMap { $0.isEmpty ? nil : String($0.prefix(100)) })
    }

    /// WEBJS emits `message.ack` only with `webjs.tagsEventsOn`; the other engines always do.
    static func receiptsEnabled(engine: String?, config: [String: Any]) -> Bool? {
        switch engine {
        case "WEBJS": ((config["webjs"] as? [String: Any])?["tagsEventsOn"] as? Bool) ?? false
        case nil: nil
        default: true
        }
    }

    /// NOWEB keeps message history (and contacts) only with `noweb.store.enabled`; the others always do.
    static func historyEnabled(engine: String?, config: [String: Any]) -> Bool? {
        switch engine {
        case "NOWEB": (((config["noweb"] as? [String: Any])?["store"] as? [String: Any])?["enabled"] as? Bool) ?? false
        case nil: nil
        default: true
        }
    }

    /// Sets Crier's configuration on an existing session, keeping everything else it has (WAHA's
    /// `PUT /api/sessions/{name}` replaces the whole config, and restarts a running session).
    public func configureSession(_ name: String, setup: SessionSetup) async throws -> SessionStatus {
        let current = try await request(.GET, "/api/sessions/\(Self.segment(name))", operation: "session")
        var config = (((try? JSONSerialization.jsonObject(with: current.body)) as? [String: Any])?["config"]
            as? [String: Any]) ?? [:]
        for (key, value) in Self.sessionConfig(setup) {
            if key == "webhooks", let ours = value as? [[String: Any]], let url = ours.first?["url"] as? String {
                let others = (config["webhooks"] as? [[String: Any]] ?? []).filter { $0["url"] as? String != url }
                config[key] = others + ours
            } else if key == "metadata", var metadata = config["metadata"] as? [String: Any] {
                metadata[Self.ownerMetadataKey] = setup.owner
                config[key] = metadata
            } else {
                config[key] = value
            }
        }
        let response = try await request(
            .PUT, "/api/sessions/\(Self.segment(name))", json: ["config": config], operation: "configureSession")
        if let status = Self.status(in: response.body) { return status }
        return try await status(ofSession: name)
    }

    public func createSession(named name: String, setup: SessionSetup) async throws -> SessionStatus {
        let response = try await request(
            .POST, "/api/sessions", json: ["name": name, "start": true, "config": Self.sessionConfig(setup)],
            operation: "createSession")
        return Self.status(in: response.body) ?? .starting
    }

    public func startSession(_ name: String) async throws -> SessionStatus { try await sessionCommand(name, "start") }

    /// The configuration Crier depends on: the owner tag; WEBJS's tag events (without them WEBJS
    /// emits no `message.ack`); NOWEB's store (without it no message history, so no reconciliation,
    /// and no contacts), without a full sync of old history; and, when known, Crier's signed webhook.
    static func sessionConfig(_ setup: SessionSetup) -> [String: Any] {
        var config: [String: Any] = [
            "metadata": [ownerMetadataKey: setup.owner],
            "webjs": ["tagsEventsOn": true],
            "noweb": ["markOnline": false, "store": ["enabled": true, "fullSync": false]],
        ]
        if let webhook = setup.webhook {
            config["webhooks"] = [[
                "url": webhook.url, "events": ["message.ack", "message.ack.group", "session.status"],
                "hmac": ["key": webhook.hmacKey],
            ]]
        }
        return config
    }

    public func status(ofSession name: String) async throws -> SessionStatus {
        let response = try await request(.GET, "/api/sessions/\(Self.segment(name))", operation: "sessionStatus")
        guard let status = Self.status(in: response.body) else {
            throw GatewayFailure.ambiguous(reason: "WAHA did not report a status for session \(name)")
        }
        return status
    }

    public func restartSession(_ name: String) async throws -> SessionStatus { try await sessionCommand(name, "restart") }
    public func logoutSession(_ name: String) async throws -> SessionStatus { try await sessionCommand(name, "logout") }

    /// The QR code; a session that is not waiting for one (WAHA's 422, with Nest's default body) is
    /// `sessionNotReady` with the session's actual status.
    public func qrCode(session: String) async throws -> Data {
        do {
            return try await request(
                .GET, "/api/\(Self.segment(session))/auth/qr", query: [("format", "image")], accept: "image/png",
                operation: "qr"
            ).body
        } catch GatewayFailure.rejected(422, _, _) {
            let status = try? await status(ofSession: session)
            throw GatewayFailure.sessionNotReady(
                status: status, reason: "The session is not waiting for a QR code (it is \(status?.rawValue ?? "not running"))")
        }
    }

    private func sessionCommand(_ name: String, _ command: String) async throws -> SessionStatus {
        let response = try await request(.POST, "/api/sessions/\(Self.segment(name))/\(command)", operation: command)
        if let status = Self.status(in: response.body) { return status }
        return try await status(ofSession: name)
    }

    // MARK: Chats

    public func groups(session: String) async throws -> [ChatSummary] {
        let response = try await request(
            .GET, "/api/\(Self.segment(session))/groups", query: [("exclude", "participants")], operation: "groups")
        return Self.normalisedGroups(try? JSONSerialization.jsonObject(with: response.body))
    }

    /// Every contact, read a page of `contactsPageSize` at a time (at most `maxContactPages` pages).
    public func contacts(session: String) async throws -> [ChatSummary] {
        var contacts: [ChatSummary] = []
        for page in 0..<Self.maxContactPages {
            let response = try await request(
                .GET, "/api/contacts/all",
                query: [
                    ("session", session), ("limit", String(Self.contactsPageSize)),
                    ("offset", String(page * Self.contactsPageSize)), ("sortBy", "id"),
                ],
                operation: "contacts")
            let items = (try? JSONSerialization.jsonObject(with: response.body) as? [[String: Any]]) ?? []
            contacts += items.compactMap { item in
                guard let id = WAHAMessageIds.chatIdString(item["id"]) else { return nil }
                return ChatSummary(id: id, name: (item["name"] as? String) ?? (item["pushname"] as? String))
            }
            if items.count < Self.contactsPageSize { break }
        }
        return contacts
    }

    static let contactsPageSize = 1000
    static let maxContactPages = 50

    public func checkHealth() async throws {
        _ = try await request(.GET, "/api/server/version", operation: "health")
    }

    // MARK: Transport

    struct Reply {
        let status: Int
        let body: Data
    }

    private func request(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], json: [String: Any]? = nil,
        body: ByteBuffer? = nil, accept: String = "application/json", timeout: TimeAmount? = nil, operation: String
    ) async throws -> Reply {
        var url = baseURL + path
        if !query.isEmpty {
            var components = URLComponents()
            components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
            url += components.percentEncodedQuery.map { "?" + $0 } ?? ""
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: accept)
        if let apiKey { request.headers.add(name: "X-Api-Key", value: apiKey) }
        if let body = try body ?? json.map({ ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0)) }) {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        let started = ContinuousClock.now
        do {
            let response = try await httpClient.execute(request, timeout: timeout ?? requestTimeout)
            let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
            let reply = Reply(status: Int(response.status.code), body: Data(body.readableBytesView))
            observe(operation, ContinuousClock.now - started, (200..<300).contains(reply.status))
            try Self.check(reply)
            return reply
        } catch let failure as GatewayFailure {
            throw failure
        } catch {
            observe(operation, ContinuousClock.now - started, false)
            throw Self.classify(transportError: error, baseURL: baseURL)
        }
    }

    /// Maps a non-2xx answer to a failure, per DESIGN §5 and WAHA's documented statuses.
    static func check(_ reply: Reply) throws {
        let status = reply.status
        guard !(200..<300).contains(status) else { return }
        let object = (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any]
        let message = errorText(object, fallback: String(decoding: reply.body.prefix(300), as: UTF8.self))
        let reason = "WAHA \(status): " + message
        switch status {
        case 404 where message.contains("didn't find a session") || message.contains("start it first"):
            // WAHA's answer for any session that is not running (STOPPED, or not yet restored while WAHA
            // starts): the message waits, and the dispatcher starts the session.
            throw GatewayFailure.sessionNotReady(status: .stopped, reason: reason)
        case 400 where message.localizedCaseInsensitiveContains("NOWEB store"):
            throw GatewayFailure.historyUnavailable(
                reason: "WAHA keeps no message history for this session (NOWEB store off): " + message)
        case 422 where object?["expected"] != nil || object?["status"] is String:
            throw GatewayFailure.sessionNotReady(
                status: (object?["status"] as? String).flatMap(SessionStatus.init(rawValue:)), reason: reason)
        case 429:
            throw GatewayFailure.notDelivered(reason: reason)
        case 401, 403:
            throw GatewayFailure.rejected(httpStatus: status, reason: reason, credentialsRefused: true)
        case 400..<500:
            throw GatewayFailure.rejected(httpStatus: status, reason: reason, credentialsRefused: false)
        default:
            throw GatewayFailure.ambiguous(reason: reason)
        }
    }

    /// A transport error is "not delivered" only when no connection was made; otherwise the request may
    /// have reached WAHA. The reason names WAHA's URL and says plainly what happened.
    static func classify(transportError error: any Error, baseURL: String = "") -> GatewayFailure {
        let text = String(describing: error)
        let at = baseURL.isEmpty ? "WAHA" : "WAHA at \(baseURL)"
        let errno = (error as? IOError)?.errnoCode
        let connection = error as? NIOConnectionError
        let dnsFailed = connection.map { $0.dnsAError != nil || $0.dnsAAAAError != nil } ?? false
        if error is SocketAddressError.UnknownHost || error is SocketAddressError || dnsFailed {
            return .notDelivered(reason: "\(at) is unreachable: its host name did not resolve")
        }
        if errno == ECONNREFUSED || connection != nil || text.contains("connectionRefused")
            || text.contains("Connection refused")
        {
            return .notDelivered(reason: "\(at) is unreachable: connection refused (is WAHA running?)")
        }
        if (error as? HTTPClientError) == .connectTimeout
            || { if case .connectTimeout = error as? ChannelError { true } else { false } }()
        {
            return .notDelivered(reason: "\(at) is unreachable: no connection within the connect timeout")
        }
        if let errno, [EHOSTUNREACH, ENETUNREACH].contains(errno) {
            return .notDelivered(reason: "\(at) is unreachable: no route to its host")
        }
        if let clientError = error as? HTTPClientError, clientError == .deadlineExceeded || clientError == .readTimeout {
            return .ambiguous(reason: "\(at) did not answer in time")
        }
        if errno == ECONNRESET || (error as? HTTPClientError) == .remoteConnectionClosed {
            return .ambiguous(reason: "\(at) closed the connection mid-request")
        }
        return .ambiguous(reason: "The connection to \(at) failed mid-request (\(text))")
    }

    static func errorText(_ object: [String: Any]?, fallback: String) -> String {
        if let message = object?["message"] as? String { return message }
        if let messages = object?["message"] as? [String] { return messages.joined(separator: "; ") }
        if let error = object?["error"] as? String { return error }
        if let exception = object?["exception"] as? [String: Any], let message = exception["message"] as? String {
            return message
        }
        return fallback.isEmpty ? "no details" : fallback
    }

    // MARK: Response shapes

    /// The sent message's id across engines (see `WAHAMessageIds`); `nil` for an empty body.
    static func messageId(in body: Data, chatId: String) -> GatewayMessageId? {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return nil }
        return WAHAMessageIds.messageId(in: object, chatId: chatId)
    }

    static func status(in body: Data) -> SessionStatus? {
        ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])
            .flatMap { $0["status"] as? String }.flatMap(SessionStatus.init(rawValue:))
    }

    /// Groups as `{id, name}` from NOWEB's object keyed by id, GOWS's array (`JID`/`Name`) or WEBJS's
    /// array of chats (`id._serialized`/`name`).
    static func normalisedGroups(_ json: Any?) -> [ChatSummary] {
        let items: [[String: Any]]
        if let array = json as? [[String: Any]] {
            items = array
        } else if let object = json as? [String: Any] {
            items = object.compactMap { key, value in
                guard var item = value as? [String: Any] else { return nil }
                if item["id"] == nil { item["id"] = key }
                return item
            }
        } else {
            items = []
        }
        return items.compactMap { item in
            guard let id = WAHAMessageIds.chatIdString(item["id"]) ?? WAHAMessageIds.chatIdString(item["JID"]) else { return nil }
            let name = (item["subject"] as? String) ?? (item["Name"] as? String) ?? (item["name"] as? String)
            return ChatSummary(id: id, name: name)
        }.sorted { ($0.name ?? $0.id, $0.id) < ($1.name ?? $1.id, $1.id) }
    }


    /// A path segment with every byte but RFC 3986's unreserved ones (`A–Z a–z 0–9 - . _ ~`)
    /// percent-encoded as UTF-8: `@` and `/` in chat ids and session names cannot change the path.
    /// Built by hand because it runs for every send, and Foundation's version builds a character set.
    static func segment(_ value: String) -> String {
        func isUnreserved(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                true
            default:
                false
            }
        }
        guard !value.utf8.allSatisfy(isUnreserved) else { return value }
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count * 3)
        for byte in value.utf8 {
            if isUnreserved(byte) {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
