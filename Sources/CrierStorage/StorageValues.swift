import CrierCore
import Foundation

/// One request's campaigns, as a back end stores them together.
public struct CampaignCreation: Sendable {
    public let ownerId: Int64
    public let sessionIdOrName: String
    public let campaigns: [NewCampaign]
    public let at: Date
}

/// Rules every back end applies the same way.
public enum StoreRules {
    /// How long a receipt for an unknown message is kept waiting for its send to be recorded.
    public static let earlyReceiptRetention: TimeInterval = 86_400
    /// How far before the recorded send a receipt may be dated (the gateway's clock is not ours).
    public static let receiptClockSkew: TimeInterval = 60
    /// Why a claim whose process died goes back to pending.
    public static let recoveredReason =
        "The process that claimed it stopped before recording an outcome; checking with the gateway before any resend"
    /// What a missed message's reason ends with when nothing went wrong before (Crier was not running).
    public static let notRunningReason = "the server was not running or not dispatching at the scheduled time"
}

/// A stored value that does not read back as what was validated when it was written (a damaged or
/// hand-edited database): an error for that one read, never a trap that takes the server down.
public struct StoredValueError: Error, CustomStringConvertible {
    public let column: String
    public let value: String
    public var description: String { "Stored \(column) '\(value)' is not valid" }

    public static func date(_ text: String, column: String) throws -> LocalDate {
        guard let date = LocalDate(iso: text) else { throw StoredValueError(column: column, value: text) }
        return date
    }

    public static func time(_ text: String, column: String) throws -> LocalTime {
        guard let time = LocalTime(text: text) else { throw StoredValueError(column: column, value: text) }
        return time
    }
}

extension Date {
    /// Milliseconds since 1970, the storage form of every instant in every back end; clamped to Int64
    /// so that no instant, however absurd, can trap.
    public var millis: Int64 {
        let value = (timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite else { return value > 0 ? .max : .min }
        return Int64(exactly: value) ?? (value > 0 ? .max : .min)
    }
    /// This instant as storage will give it back.
    public var wholeMillis: Date { Date(millis: millis) }
    public init(millis: Int64) { self.init(timeIntervalSince1970: TimeInterval(millis) / 1000) }
}

/// Message ids for the API: 24 lowercase hex characters, the creation time in milliseconds (12)
/// then 48 random bits (12). Opaque, and unguessable enough for ids only ever looked up within their
/// owner's data; and unlike fully random ids, a campaign's new ids land side by side in the unique
/// index, so storing a year of messages touches a few index pages rather than one page per message.
public enum MessagePublicId {
    /// `count` ids created at `instant`. The random parts come from one system seed per call stirred
    /// by SplitMix64, not one system call per id (a campaign has up to 2,000).
    public static func make(count: Int, at instant: Date) -> [String] {
        let time = UInt64(max(0, instant.millis))
        var state = UInt64.random(in: .min ... .max)
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = (state ^ (state >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            let random = mixed ^ (mixed >> 31)
            return String(unsafeUninitializedCapacity: 24) { text in
                LowerHex.write(time, digits: 12, into: text, at: 0)
                LowerHex.write(random, digits: 12, into: text, at: 12)
                return 24
            }
        }
    }
}

/// Public ids of campaigns and sessions: random version-4 UUIDs in lower case. Formatted here:
/// `UUID().uuidString.lowercased()` (a formatter, then Unicode case mapping) was 2 % of a create's CPU.
public enum RandomPublicId {
    public static func uuid() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = (generator.next() as UInt64) & ~0xF000 | 0x4000  // version 4
        let low = (generator.next() as UInt64) & ~(0xC << 60) | (0x8 << 60)  // variant 1 (RFC 9562)
        return String(unsafeUninitializedCapacity: 36) { text in
            LowerHex.write(high >> 32, digits: 8, into: text, at: 0)
            LowerHex.write(high >> 16, digits: 4, into: text, at: 9)
            LowerHex.write(high, digits: 4, into: text, at: 14)
            LowerHex.write(low >> 48, digits: 4, into: text, at: 19)
            LowerHex.write(low, digits: 12, into: text, at: 24)
            (text[8], text[13], text[18], text[23]) = (0x2D, 0x2D, 0x2D, 0x2D)  // "-"
            return 36
        }
    }
}

extension RandomPublicId {
    /// 16 random lower-case hex digits (64 bits): the public id of an API token.
    public static func short() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits: UInt64 = generator.next()
        return String(unsafeUninitializedCapacity: 16) { text in
            LowerHex.write(bits, digits: 16, into: text, at: 0)
            return 16
        }
    }
}

/// Lower-case hexadecimal written straight into a string's bytes.
enum LowerHex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// The low `digits` hex digits of `value`, most significant first, at `offset`.
    static func write(_ value: UInt64, digits count: Int, into text: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        var rest = value
        for index in (offset..<offset + count).reversed() {
            text[index] = digits[Int(rest & 0xF)]
            rest >>= 4
        }
    }
}
