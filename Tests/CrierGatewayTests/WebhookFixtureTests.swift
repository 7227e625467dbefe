import CrierCore
@testable import CrierGateway
import CrierTestSupport
import Foundation
import Testing

/// Webhook bodies built from WAHA's own event schemas (their examples and defaults), so decoding is
/// tested against WAHA's description of its events, not only against fixtures we wrote.
@Suite("WAHA webhook events from WAHA's spec")
struct WebhookFixtureTests {
    /// The spec's `components.schemas`, or `nil` (with the reason printed) where the file is absent.
    // Read once, never written.
    nonisolated(unsafe) static let schemas: [String: Any]? = {
        let path = WAHASpec.location.path
        guard let data = FileManager.default.contents(atPath: path),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            print("skipped: no WAHA OpenAPI spec at \(path)")
            return nil
        }
        return (root["components"] as? [String: Any])?["schemas"] as? [String: Any]
    }()

    /// An instance of `schema` made of its examples (or defaults, or the first enum value).
    static func example(_ schema: [String: Any], _ schemas: [String: Any]) -> Any {
        if let ref = schema["$ref"] as? String, let target = schemas[String(ref.split(separator: "/").last ?? "")] as? [String: Any] {
            return example(target, schemas)
        }
        if let value = schema["example"] { return value }
        if let value = schema["default"] { return value }
        if let values = schema["enum"] as? [Any], let first = values.first { return first }
        if let parts = schema["allOf"] as? [[String: Any]], let first = parts.first { return example(first, schemas) }
        if let properties = schema["properties"] as? [String: [String: Any]] {
            return properties.mapValues { example($0, schemas) }
        }
        switch schema["type"] as? String {
        case "string": return "x"
        case "number", "integer": return 1
        case "boolean": return true
        case "array": return [example(schema["items"] as? [String: Any] ?? [:], schemas)]
        default: return [String: Any]()
        }
    }

    static func event(_ name: String, change: (inout [String: Any]) -> Void = { _ in }) throws -> Data? {
        guard let schemas, let schema = schemas[name] as? [String: Any] else { return nil }
        guard var object = example(schema, schemas) as? [String: Any] else { return nil }
        change(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test("message.ack and message.ack.group: an ack of the message's raw id, with its level")
    func acks() throws {
        for name in ["WAHAWebhookMessageAck", "WAHAWebhookMessageAckGroup"] {
            guard let body = try Self.event(name, change: { event in
                var payload = event["payload"] as? [String: Any] ?? [:]
                payload["ack"] = 3
                event["payload"] = payload
            }) else { return }
            let event = try WAHAWebhookEvent.decode(body)
            #expect(event.id == "evt_01aaaaaaaaaaaaaaaaaaaaaaaa")
            #expect(event.timestamp == Date(timeIntervalSince1970: 1_634_567_890.123))
            guard case .ack(let session, let messageId, let level) = event.kind else {
                Issue.record("\(name) decoded as \(event.kind)")
                continue
            }
            #expect(session == "default" && level == .read)
            #expect(messageId.raw == "AAAAAAAAAAAAAAAAAAAA", "\(messageId)")
        }
    }

    @Test("session.status: the session's new status")
    func sessionStatus() throws {
        guard let body = try Self.event("WAHAWebhookSessionStatus", change: { event in
            var payload = event["payload"] as? [String: Any] ?? [:]
            payload["status"] = "WORKING"
            event["payload"] = payload
        }) else { return }
        #expect(try WAHAWebhookEvent.decode(body).kind == .sessionStatus(session: "default", status: "WORKING"))
    }

    @Test("ack: null (GOWS) is ignored; @lid and participant ids keep their raw part")
    func edgeShapes() throws {
        guard let nullAck = try Self.event("WAHAWebhookMessageAck", change: { event in
            var payload = event["payload"] as? [String: Any] ?? [:]
            payload["ack"] = NSNull()
            event["payload"] = payload
        }) else { return }
        #expect(try WAHAWebhookEvent.decode(nullAck).kind == .ignored(event: "message.ack"))
        for (id, raw) in [
            ("true_123456789@lid_3EB0ABCDEF", "3EB0ABCDEF"),
            ("true_120363025@g.us_3EB0ABCDEF_254700000000@c.us", "3EB0ABCDEF"),
            ("true_254700000000@s.whatsapp.net_3EB0ABCDEF", "3EB0ABCDEF"),
        ] {
            let body = try #require(try Self.event("WAHAWebhookMessageAck", change: { event in
                var payload = event["payload"] as? [String: Any] ?? [:]
                payload["id"] = id
                payload["ack"] = 2
                event["payload"] = payload
            }))
            guard case .ack(_, let messageId, .device) = try WAHAWebhookEvent.decode(body).kind else {
                Issue.record("\(id) did not decode as a DEVICE ack")
                continue
            }
            #expect(messageId.raw == raw)
        }
    }
}

@Suite("Message ids in every shape WAHA gives them")
struct MessageIdTests {
    @Test("sendText answers and message lists", arguments: [
        (#"{"id":"true_1@c.us_3EB0AA"}"#, "true_1@c.us_3EB0AA", "3EB0AA"),
        (#"{"id":{"fromMe":true,"remote":"1@c.us","id":"3EB0AA","_serialized":"true_1@c.us_3EB0AA"}}"#, "true_1@c.us_3EB0AA", "3EB0AA"),
        (#"{"id":{"fromMe":true,"remote":"1@c.us","id":"3EB0AA","$1":"true_1@c.us_3EB0AA"}}"#, "true_1@c.us_3EB0AA", "3EB0AA"),
        (#"{"id":{"fromMe":true,"remote":{"_serialized":"1@c.us"},"id":"3EB0AA"}}"#, "true_1@c.us_3EB0AA", "3EB0AA"),
        (#"{"_data":{"id":{"_serialized":"true_1@c.us_3EB0AA"}}}"#, "true_1@c.us_3EB0AA", "3EB0AA"),
        (#"{"key":{"remoteJid":"1@s.whatsapp.net","fromMe":true,"id":"3EB0AA"}}"#, "true_1@c.us_3EB0AA", "3EB0AA"),
    ])
    func shapes(_ json: String, _ full: String, _ raw: String) throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(WAHAMessageIds.messageId(in: object, chatId: nil) == GatewayMessageId(full: full, raw: raw))
    }

    @Test("an empty or id-less answer has no id")
    func none() {
        #expect(WAHAClient.messageId(in: Data(), chatId: "1@c.us") == nil)
        #expect(WAHAClient.messageId(in: Data(#"{"status":"PENDING"}"#.utf8), chatId: "1@c.us") == nil)
    }
}
