import CrierCore
import CrierGateway
import CrierService
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /api/webhooks/waha`: delivery acks and session status from WAHA, verified by HMAC-SHA512 of
/// the raw body (`X-Webhook-Hmac`), de-duplicated by event id. No bearer token: the signature is the
/// credential.
struct WebhookController<Context: RequestContext> {
    let events: GatewayEventService
    /// Unset: every webhook is refused, so an unsigned endpoint is never open.
    let secret: String?

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
        let event: WAHAWebhookEvent
        do {
            event = try WAHAWebhookEvent.decode(body)
        } catch {
            throw APIError.invalid(error.description, field: nil, code: "malformed_webhook")
        }
        switch try await events.apply(event) {
        case .applied:
            return JSONValue.response(.object(["received": .bool(true), "duplicate": .bool(false)]))
        case .duplicate:
            return JSONValue.response(.object(["received": .bool(true), "duplicate": .bool(true)]))
        case .stale(let at):
            throw APIError.invalid(
                "Event is dated \(at.formatted(.iso8601)), outside the \(Int(GatewayEventService.freshness / 3600)) hours Crier accepts",
                field: "timestamp", code: "stale_event")
        }
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
