import Crypto
import Foundation

/// API tokens: random, shown once, stored only as a SHA-256 digest (a fast hash suffices for
/// 256 random bits; no password stretching is needed).
public enum APIToken {
    /// A new token: `crier_` and 64 hex digits (256 random bits).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "crier_" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The digest that is stored and looked up.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
