import CrierCore
import CrierStorage
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /api/webhooks/waha`: delivery acks and session status from WAHA, verified by HMAC-SHA512 of
/// the raw body (`X-Webhook-Hmac`), de-duplicated by event id. No bearer token: the signature is the
/// credential.
struct WebhookController<Context: RequestContext> {
    let store: any DispatchStore
    let clock: any WallClock
    /// Unset: every webhook is refused, so an unsigned endpoint is never open.
    let secret: String?
    /// Called when a session reports WORKING, so waiting messages go out at once.
    let sessionRecovered: @Sendable () -> Void

    func addRoutes(to router: Router<Context>) {
        router.post("api/webhooks/waha", use: receive)
    }

    @Sendable func receive(_ request: Request, context: Context) async throws -> Response {
        guard let secret else {
            throw APIError(
                status: .forbidden, code: "webhooks_disabled",
                message: "Webhooks are disabled: set CRIER_WEBHOOK_SECRET and the same HMAC key in WAHA")
        }
        let body = Data(try await request.body.collect(upTo: context.maxUploadSize).readableBytesView)
        guard let signature = request.headers[HTTPField.Name("X-Webhook-Hmac")!].flatMap(Self.bytes(hex:)),
            HMAC<SHA512>.isValidAuthenticationCode(signature, authenticating: body, using: SymmetricKey(data: Data(secret.utf8)))
        else {
            throw APIError.unauthorized("Missing or invalid X-Webhook-Hmac signature")
        }
        guard let envelope = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let eventId = envelope["id"] as? String, let event = envelope["event"] as? String
        else {
            throw APIError.invalid("A WAHA webhook needs a JSON body with id and event", field: nil, code: "malformed_json")
        }
        let now = clock.now()
        guard try await store.recordWebhookEvent(id: eventId, now: now) else {
            return JSONValue.response(.object(["received": .bool(true), "duplicate": .bool(true)]))
        }
        let payload = envelope["payload"] as? [String: Any] ?? [:]
        let at = (envelope["timestamp"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue / 1000) } ?? now
        switch event {
        case "message.ack", "message.ack.group":
            if let id = payload["id"] as? String, let ack = (payload["ack"] as? NSNumber)?.intValue,
                let level = AckLevel(rawValue: ack)
            {
                try await store.recordAck(gatewayMessageId: id, level: level, at: at)
            }
        case "session.status":
            if let name = (payload["name"] as? String) ?? (envelope["session"] as? String),
                let status = payload["status"] as? String
            {
                try await store.recordSessionStatus(name: name, status: status, at: at)
                if status == "WORKING" { sessionRecovered() }
            }
        default:
            break
        }
        return JSONValue.response(.object(["received": .bool(true), "duplicate": .bool(false)]))
    }

    static func bytes(hex: String) -> Data? {
        let characters = Array(hex.utf8)
        guard characters.count % 2 == 0, !characters.isEmpty else { return nil }
        var data = Data(capacity: characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let byte = UInt8(String(decoding: characters[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            data.append(byte)
            index += 2
        }
        return data
    }
}
