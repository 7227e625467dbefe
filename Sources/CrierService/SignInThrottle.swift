import CrierCore
import Foundation

/// Limits failed sign-ins per account and per client address, so a password cannot be guessed by
/// brute force and one address cannot lock out everyone.
///
/// Failures are counted in a sliding window; a successful sign-in clears the account's count. Kept in
/// memory: a restart forgets them, which costs an attacker a restart of the server.
public actor SignInThrottle {
    public struct Limits: Sendable {
        public var perAccount: Int
        public var perAddress: Int
        public var window: TimeInterval

        public init(perAccount: Int = 5, perAddress: Int = 20, window: TimeInterval = 15 * 60) {
            self.perAccount = perAccount
            self.perAddress = perAddress
            self.window = window
        }
    }

    private let limits: Limits
    private let clock: any WallClock
    private var failures: [String: [Date]] = [:]
    /// Bounds the memory a flood of made-up accounts and addresses can take.
    private let maxKeys = 100_000

    public init(limits: Limits = Limits(), clock: any WallClock) {
        self.limits = limits
        self.clock = clock
    }

    /// How long until this account may try again from this address; `nil` when it may now.
    public func retryAfter(account: String, address: String) -> TimeInterval? {
        let now = clock.now()
        let waits = [
            wait(key: Self.accountKey(account), limit: limits.perAccount, now: now),
            wait(key: Self.addressKey(address), limit: limits.perAddress, now: now),
        ].compactMap { $0 }
        return waits.max()
    }

    public func recordFailure(account: String, address: String) {
        let now = clock.now()
        if failures.count >= maxKeys {
            // Forget what is old; under a flood of made-up names, forget accounts before addresses,
            // and everything before growing without bound.
            failures = failures.filter { !recent($0.value, now: now).isEmpty }
            if failures.count >= maxKeys { failures = failures.filter { $0.key.hasPrefix("address:") } }
            if failures.count >= maxKeys { failures.removeAll() }
        }
        for key in [Self.accountKey(account), Self.addressKey(address)] {
            failures[key, default: []] = recent(failures[key] ?? [], now: now) + [now]
        }
    }

    public func recordSuccess(account: String) {
        failures[Self.accountKey(account)] = nil
    }

    private func wait(key: String, limit: Int, now: Date) -> TimeInterval? {
        let recent = recent(failures[key] ?? [], now: now)
        guard recent.count >= limit, let oldest = recent.first else { return nil }
        return (oldest + limits.window).timeIntervalSince(now)
    }

    private func recent(_ dates: [Date], now: Date) -> [Date] {
        dates.filter { now.timeIntervalSince($0) < limits.window }
    }

    private static func accountKey(_ email: String) -> String {
        "account:" + email.trimmingCharacters(in: .whitespaces).lowercased()
    }

    private static func addressKey(_ address: String) -> String { "address:" + address }
}
