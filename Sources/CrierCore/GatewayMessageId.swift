/// A sent message's id at the gateway, as it is stored: the full form the gateway returned and the raw
/// part that every engine's receipts share, whatever chat form (`@c.us`, `@lid`, group with
/// participant) they name. The gateway module builds it; storage only compares it.
public struct GatewayMessageId: Hashable, Sendable {
    public let full: String
    public let raw: String

    public init(full: String, raw: String) {
        self.full = full
        self.raw = raw
    }
}

/// How far a sent message got, from the gateway's receipts. Receipts only move a message forward.
public enum AckLevel: Int, Sendable, Comparable, CaseIterable {
    case error = -1, pending = 0, server = 1, device = 2, read = 3, played = 4

    public static func < (lhs: AckLevel, rhs: AckLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}
