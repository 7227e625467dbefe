import CrierCore
import Crypto
import Foundation

/// Limits password guessing per account and per client network, without letting a stranger lock
/// an owner out.
///
/// - **Reserve, then settle.** An attempt is counted as a failure before its password is checked
///   (`admit`) and forgiven afterwards if it succeeds (`settle`), so guesses sent in parallel are
///   refused at the limit instead of all being checked while none has failed yet.
/// - **Per client network** (`IPAddress.networkKey`: an IPv4 address, all of loopback as one, an
///   IPv6 /64): `perAddress` failures in `addressWindow`, then a wait until the oldest leaves it.
/// - **Per account, a growing delay** rather than a lock: `perAccount` failures in `accountWindow`
///   are free, then each further attempt waits 1 s, 2 s, 4 s … (at most `maxAccountDelay`) after the
///   last failure. A browser the owner signed in from before carries a device cookie
///   (`deviceCookie(for:)`) and is exempt, so five wrong passwords by anyone else never keep the
///   owner out.
///
/// Kept in memory: a restart forgets counts and devices alike.
public actor SignInThrottle {
    public struct Limits: Sendable {
        public var perAccount: Int
        public var perAddress: Int
        public var addressWindow: TimeInterval
        public var accountWindow: TimeInterval
        public var maxAccountDelay: TimeInterval

        public init(
            perAccount: Int = 5, perAddress: Int = 20, addressWindow: TimeInterval = 15 * 60,
            accountWindow: TimeInterval = 24 * 3600, maxAccountDelay: TimeInterval = 15 * 60
        ) {
            self.perAccount = perAccount
            self.perAddress = perAddress
            self.addressWindow = addressWindow
            self.accountWindow = accountWindow
            self.maxAccountDelay = maxAccountDelay
        }
    }

    /// One admitted attempt, to be settled once its password was checked.
    public struct Attempt: Sendable {
        let keys: [String]
        let at: Date
    }

    public enum Admission: Sendable {
        case admitted(Attempt)
        /// Refused: seconds until an attempt may be made.
        case wait(TimeInterval)
    }

    private let limits: Limits
    private let clock: any WallClock
    private var failures: [String: [Date]] = [:]
    /// Bounds the memory a flood of made-up accounts and addresses can take.
    private let maxKeys = 100_000
    /// Signs device cookies; new with every process.
    private let deviceKey = SymmetricKey(size: .bits256)

    public init(limits: Limits = Limits(), clock: any WallClock) {
        self.limits = limits
        self.clock = clock
    }

    /// Admits an attempt and counts it as a failure until `settle` says otherwise, or says how long
    /// to wait. `device` is the browser's device cookie, if it sent one.
    public func admit(account: String, address: String?, device: String?) -> Admission {
        let now = clock.now()
        let accountKey = Self.accountKey(account)
        let addressKey = Self.addressKey(address)
        let trusted = device.map { isDeviceCookie($0, for: account) } ?? false
        var waits: [TimeInterval] = []
        if let wait = addressWait(addressKey, now: now) { waits.append(wait) }
        if !trusted, let wait = accountWait(accountKey, now: now) { waits.append(wait) }
        if let longest = waits.max() { return .wait(max(1, longest)) }
        makeRoom(now: now)
        let keys = trusted ? [addressKey] : [addressKey, accountKey]
        for key in keys { failures[key, default: []].append(now) }
        return .admitted(Attempt(keys: keys, at: now))
    }

    /// Settles an attempt: a success forgives it and clears the account's failures; an attempt that
    /// failed for another reason than the password (an account awaiting approval) is forgiven; a
    /// wrong password stays counted.
    public func settle(_ attempt: Attempt, outcome: Outcome) {
        switch outcome {
        case .wrongPassword:
            return
        case .succeeded:
            for key in attempt.keys where key.hasPrefix("account:") { failures[key] = nil }
            forgive(attempt)
        case .notAPasswordFailure:
            forgive(attempt)
        }
    }

    public enum Outcome: Sendable { case succeeded, wrongPassword, notAPasswordFailure }

    /// The value of the device cookie a browser gets when it signs in to `account`.
    public func deviceCookie(for account: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(Self.accountKey(account).utf8), using: deviceKey)
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    private func isDeviceCookie(_ value: String, for account: String) -> Bool {
        let expected = Array(deviceCookie(for: account).utf8)
        let given = Array(value.utf8)
        return given.count == expected.count && zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func forgive(_ attempt: Attempt) {
        for key in attempt.keys {
            guard var dates = failures[key], let index = dates.lastIndex(of: attempt.at) else { continue }
            dates.remove(at: index)
            failures[key] = dates.isEmpty ? nil : dates
        }
    }

    private func addressWait(_ key: String, now: Date) -> TimeInterval? {
        let recent = recent(key, within: limits.addressWindow, now: now)
        guard recent.count >= limits.perAddress, let oldest = recent.first else { return nil }
        return (oldest + limits.addressWindow).timeIntervalSince(now)
    }

    private func accountWait(_ key: String, now: Date) -> TimeInterval? {
        let recent = recent(key, within: limits.accountWindow, now: now)
        guard recent.count >= limits.perAccount, let last = recent.last else { return nil }
        let doublings = min(recent.count - limits.perAccount, 30)
        let delay = min(pow(2, Double(doublings)), limits.maxAccountDelay)
        let wait = (last + delay).timeIntervalSince(now)
        return wait > 0 ? wait : nil
    }

    private func recent(_ key: String, within window: TimeInterval, now: Date) -> [Date] {
        let kept = (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }
        failures[key] = kept.isEmpty ? nil : kept
        return kept
    }

    private func makeRoom(now: Date) {
        guard failures.count >= maxKeys else { return }
        // Forget what is old; under a flood of made-up names, forget accounts before addresses,
        // and everything before growing without bound.
        let window = max(limits.addressWindow, limits.accountWindow)
        failures = failures.filter { $0.value.contains { now.timeIntervalSince($0) < window } }
        if failures.count >= maxKeys { failures = failures.filter { $0.key.hasPrefix("address:") } }
        if failures.count >= maxKeys { failures.removeAll() }
    }

    private static func accountKey(_ email: String) -> String {
        "account:" + email.trimmingCharacters(in: .whitespaces).lowercased()
    }

    private static func addressKey(_ address: String?) -> String {
        "address:" + (address.flatMap(IPAddress.init)?.networkKey ?? "unknown")
    }
}
