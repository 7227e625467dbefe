import Crypto
import Foundation

/// API tokens: random, shown once, stored only as a SHA-256 digest (a fast hash suffices for
/// 256 random bits; no password stretching is needed).
public enum APIToken {
    /// A new token: `crier_` and 64 hex digits (256 random bits).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "crier_" + hex(bytes)
    }

    /// The digest that is stored and looked up.
    public static func hash(_ token: String) -> String {
        hex(Array(SHA256.hash(data: Data(token.utf8))))
    }

    /// Lowercase hex, two digits a byte (every authenticated request hashes its token).
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes { text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]] }
        return String(decoding: text, as: UTF8.self)
    }
}
