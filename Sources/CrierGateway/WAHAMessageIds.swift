import CrierCore
import Foundation

/// WAHA's message ids in all the shapes its engines give them, read into one `GatewayMessageId`.
///
/// Serialized ids are `{fromMe}_{chatId}_{rawId}` (`_{participant}` added in groups); receipts from every
/// engine share the raw id, so that is what receipts are matched on.
public enum WAHAMessageIds {
    /// The id in a `sendText` answer or a message of a list, in the order engines are known to put it:
    /// `id` string (GOWS), `id._serialized` (WEBJS), `id.$1` (WhatsApp Web from July 2026),
    /// `_data.id._serialized`, `key.id` (NOWEB, serialized here from `chatId`), `id.id` (WEBJS raw part).
    public static func messageId(in object: [String: Any], chatId: String?) -> GatewayMessageId? {
        if let id = object["id"] as? String, !id.isEmpty { return fromSerialized(id) }
        if let id = object["id"] as? [String: Any], let found = fromObject(id, chatId: chatId) { return found }
        if let data = object["_data"] as? [String: Any], let id = data["id"] as? [String: Any],
            let found = fromObject(id, chatId: chatId)
        {
            return found
        }
        if let key = object["key"] as? [String: Any], let raw = key["id"] as? String, !raw.isEmpty {
            let fromMe = (key["fromMe"] as? Bool) ?? true
            let chat = chatId ?? (key["remoteJid"] as? String).map(normalisedChat) ?? ""
            return GatewayMessageId(full: "\(fromMe)_\(chat)_\(raw)", raw: raw)
        }
        return nil
    }

    /// A serialized id (or a bare raw id, which is its own raw part).
    public static func fromSerialized(_ id: String) -> GatewayMessageId {
        let parts = id.split(separator: "_", omittingEmptySubsequences: false)
        if parts.count >= 3, parts[0] == "true" || parts[0] == "false", !parts[2].isEmpty {
            return GatewayMessageId(full: id, raw: String(parts[2]))
        }
        return GatewayMessageId(full: id, raw: id)
    }

    /// WEBJS's id object: `_serialized`, or `$1` since July 2026, or its parts `fromMe`/`remote`/`id`.
    static func fromObject(_ id: [String: Any], chatId: String?) -> GatewayMessageId? {
        for key in ["_serialized", "$1"] {
            if let serialized = id[key] as? String, !serialized.isEmpty { return fromSerialized(serialized) }
        }
        guard let raw = id["id"] as? String, !raw.isEmpty else { return nil }
        let fromMe = (id["fromMe"] as? Bool) ?? true
        let remote = chatIdString(id["remote"]) ?? chatId ?? ""
        return GatewayMessageId(full: "\(fromMe)_\(remote)_\(raw)", raw: raw)
    }

    /// A chat id given as a string or as WEBJS's `{_serialized}` object.
    static func chatIdString(_ value: Any?) -> String? {
        if let id = value as? String { return id }
        return (value as? [String: Any])?["_serialized"] as? String
    }

    /// `…@s.whatsapp.net` (NOWEB/GOWS internals) as the `@c.us` form the API uses.
    static func normalisedChat(_ jid: String) -> String {
        jid.hasSuffix("@s.whatsapp.net") ? String(jid.dropLast("@s.whatsapp.net".count)) + "@c.us" : jid
    }
}
