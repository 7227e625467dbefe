import CrierCore
import Foundation

/// A WAHA webhook, decoded from its JSON envelope into what Crier acts on. WAHA's event shapes live
/// here only; the HTTP layer verifies the signature and a service applies the typed event.
public struct WAHAWebhookEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: Sendable, Hashable {
        /// A delivery receipt for a message sent through `session`.
        case ack(session: String, messageId: GatewayMessageId, level: AckLevel)
        /// A session's status changed.
        case sessionStatus(session: String, status: String)
        /// An event Crier does not act on (or an ack without a usable level, e.g. `ack: null`).
        case ignored(event: String)
    }

    /// The envelope's id (`evt_…`), for de-duplication of WAHA's retries.
    public let id: String
    /// When WAHA says the event happened. Required: stamping an event with Crier's own clock
    /// instead would put a read receipt before the delivery it follows.
    public let timestamp: Date
    public let kind: Kind

    /// Why a body is not a webhook Crier can read.
    public struct DecodingError: Error, Hashable, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The latest instant a timestamp may name: beyond it a number is not a time but garbage.
    static let latestTimestamp = Date(timeIntervalSince1970: 7_258_118_400)  // 2200-01-01

    /// Decodes an envelope `{id, timestamp (ms), event, session, payload}`.
    public static func decode(_ body: Data) throws(DecodingError) -> WAHAWebhookEvent {
        guard let envelope = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw DecodingError(description: "A WAHA webhook needs a JSON object body")
        }
        guard let id = envelope["id"] as? String, !id.isEmpty, id.utf8.count <= 200 else {
            throw DecodingError(description: "A WAHA webhook needs an event id (id)")
        }
        guard let event = envelope["event"] as? String else {
            throw DecodingError(description: "A WAHA webhook needs an event name (event)")
        }
        guard let value = envelope["timestamp"], !(value is NSNull) else {
            throw DecodingError(description: "A WAHA webhook needs the time of its event (timestamp, milliseconds since 1970)")
        }
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
            let timestamp = instant(milliseconds: number.doubleValue)
        else {
            throw DecodingError(description: "timestamp must be milliseconds since 1970, before year 2200")
        }
        let payload = envelope["payload"] as? [String: Any] ?? [:]
        let session = envelope["session"] as? String
        return WAHAWebhookEvent(id: id, timestamp: timestamp, kind: kind(event, session: session, payload: payload))
    }

    /// A time in milliseconds, or `nil` for a number that is not one (negative, NaN, 1e308).
    static func instant(milliseconds: Double) -> Date? {
        guard milliseconds.isFinite, milliseconds >= 0 else { return nil }
        let date = Date(timeIntervalSince1970: milliseconds / 1000)
        return date < latestTimestamp ? date : nil
    }

    private static func kind(_ event: String, session: String?, payload: [String: Any]) -> Kind {
        switch event {
        case "message.ack", "message.ack.group":
            guard let session, let level = (payload["ack"] as? NSNumber).flatMap({ AckLevel(rawValue: $0.intValue) }),
                let messageId = WAHAMessageIds.messageId(in: payload, chatId: nil)
            else { return .ignored(event: event) }
            return .ack(session: session, messageId: messageId, level: level)
        case "session.status":
            guard let name = (payload["name"] as? String) ?? session, let status = payload["status"] as? String else {
                return .ignored(event: event)
            }
            return .sessionStatus(session: name, status: status)
        default:
            return .ignored(event: event)
        }
    }
}
