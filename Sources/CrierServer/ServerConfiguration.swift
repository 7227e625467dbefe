import CrierCore
import CrierDispatch
import Foundation
import Logging
import NIOCore

/// Where the data lives, from `--database` / `CRIER_DATABASE_URL`.
public enum DatabaseLocation: Hashable, Sendable {
    case sqlite(path: String)
    case postgres(url: String)

    /// `PATH`, `sqlite:PATH` or `postgres://…` (also `postgresql://…`).
    public init(_ text: String) throws {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ConfigurationError("--database sqlite: needs a file path") }
            self = .sqlite(path: path)
        } else if !text.isEmpty {
            self = .sqlite(path: text)
        } else {
            throw ConfigurationError("--database must not be empty")
        }
    }
}

/// A setting that cannot be used, with a message naming it.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Which gateway sends the messages.
public enum GatewayChoice: Hashable, Sendable {
    /// Prints instead of sending (the embedded default).
    case console
    /// A WAHA server at `url`; the API key is optional (WAHA can run without one).
    case waha(url: String, apiKey: String?)
}

/// The `serve` flags as given (`nil` when absent); each falls back to its environment variable.
public struct ServeFlags: Sendable {
    public var bind: String?
    public var database: String?
    public var defaultTimeZone: String?
    public var logLevel: String?
    public var gateway: String?
    public var wahaURL: String?
    public var grace: String?
    public var sendGap: String?
    public var maxInFlight: String?
    public var publicURL: String?
    public var lease: String?
    public var trustedProxy: String?
    public var userQuota: String?

    public init(
        bind: String? = nil, database: String? = nil, defaultTimeZone: String? = nil, logLevel: String? = nil,
        gateway: String? = nil, wahaURL: String? = nil, grace: String? = nil, sendGap: String? = nil,
        maxInFlight: String? = nil, publicURL: String? = nil, lease: String? = nil, trustedProxy: String? = nil,
        userQuota: String? = nil
    ) {
        self.bind = bind
        self.database = database
        self.defaultTimeZone = defaultTimeZone
        self.logLevel = logLevel
        self.gateway = gateway
        self.wahaURL = wahaURL
        self.grace = grace
        self.sendGap = sendGap
        self.maxInFlight = maxInFlight
        self.publicURL = publicURL
        self.lease = lease
        self.trustedProxy = trustedProxy
        self.userQuota = userQuota
    }
}

/// Every server setting, each from one documented source: a flag, else its environment variable,
/// else the embedded default.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var database = DatabaseLocation.sqlite(path: "crier.sqlite")
    public var defaultTimeZone = "UTC"
    public var logLevel = Logger.Level.info
    public var gateway = GatewayChoice.console
    /// HMAC-SHA512 key WAHA signs its webhooks with; webhooks are refused while it is unset. Read from
    /// the environment only: flags show in `ps`.
    public var webhookSecret: String?
    /// How WAHA reaches this server (`https://crier.example.org`), for per-session webhooks.
    public var publicURL: String?
    /// What each user may keep (`--user-quota`).
    public var userQuota = UserQuota.standard
    /// Proxies whose `X-Forwarded-For` names the client (throttling counts that address, not theirs).
    public var trustedProxies: [IPNetwork] = []
    /// The shortest webhook secret accepted.
    public static let minWebhookSecretLength = 16
    public var dispatcher = DispatcherConfiguration()
    /// Deadline for gateway requests other than sends (session status, QR, groups). Not a setting:
    /// tests shorten it.
    public var gatewayRequestTimeout: Duration = .seconds(15)
    /// Connections open at once from everyone but the machine itself; more wait in the listen
    /// backlog. Kept under the process's file limit. Not a setting.
    public var maxConnections = 1000
    /// Connections beyond `maxConnections` only the machine itself (127.0.0.1, ::1) may open, so that
    /// `/health/live` is answered while others hold every regular one. Not a setting.
    public var reservedLocalConnections = 24
    /// Connections one client (an IPv4 address, an IPv6 /64) may hold open; trusted proxies and the
    /// machine itself are not held to it. Not a setting.
    public var maxConnectionsPerAddress = 64
    /// How long a client may take to send a request head (or sit idle between requests) before its
    /// connection is closed. Not a setting: tests shorten it.
    public var requestHeadTimeout: TimeAmount = .seconds(10)
    /// How long a client may take to send a whole request, head and body, counted from when the
    /// connection began waiting for it. Not a setting: tests shorten it.
    public var requestTimeout: TimeAmount = .seconds(30)
    /// Live dashboard streams (`/events`) open at once, per user and for the server. Not settings.
    public var maxLiveStreamsPerUser = 4
    public var maxLiveStreams = 200
    /// bcrypt's work factor for new passwords (not a command-line setting: tests lower it to stay fast).
    public var passwordHashCost: UInt8 = 12

    public init() {}

    /// Resolves flags (`nil` when not given) against the environment.
    public static func resolve(
        bind: String? = nil, database: String? = nil, defaultTimeZone: String? = nil, logLevel: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServerConfiguration {
        try resolve(
            ServeFlags(bind: bind, database: database, defaultTimeZone: defaultTimeZone, logLevel: logLevel),
            environment: environment)
    }

    /// Resolves every `serve` flag against the environment.
    public static func resolve(
        _ flags: ServeFlags, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServerConfiguration {
        let bind = flags.bind
        let database = flags.database
        let defaultTimeZone = flags.defaultTimeZone
        let logLevel = flags.logLevel
        var configuration = ServerConfiguration()
        if let bind = bind ?? environment["CRIER_BIND"] {
            (configuration.host, configuration.port) = try parseBind(bind)
        }
        if let database = database ?? environment["CRIER_DATABASE_URL"] {
            configuration.database = try DatabaseLocation(database)
        }
        if let zone = defaultTimeZone ?? environment["CRIER_DEFAULT_TIME_ZONE"] {
            guard CampaignValidator.isKnownTimeZone(zone) else {
                throw ConfigurationError("--default-time-zone: '\(zone)' is not an IANA time zone (e.g. Africa/Nairobi)")
            }
            configuration.defaultTimeZone = zone
        }
        if let level = logLevel ?? environment["CRIER_LOG_LEVEL"] {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError("--log-level: '\(level)' is not one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = parsed
        }
        let wahaURL = flags.wahaURL ?? environment["CRIER_WAHA_URL"]
        switch flags.gateway ?? environment["CRIER_GATEWAY"] ?? (wahaURL == nil ? "console" : "waha") {
        case "console":
            configuration.gateway = .console
        case "waha":
            guard let wahaURL, let url = URL(string: wahaURL), ["http", "https"].contains(url.scheme ?? ""),
                url.host != nil
            else {
                throw ConfigurationError("--gateway waha needs --waha-url (or CRIER_WAHA_URL), e.g. http://127.0.0.1:3000")
            }
            let key = environment["CRIER_WAHA_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
            configuration.gateway = .waha(url: wahaURL, apiKey: key)
        case let other:
            throw ConfigurationError("--gateway: '\(other)' is not console or waha")
        }
        if let grace = flags.grace ?? environment["CRIER_GRACE"] {
            guard let seconds = DispatcherConfiguration.parseDuration(grace), seconds <= 86_400 else {
                throw ConfigurationError("--grace: '\(grace)' is not a duration from 0 to 24h (e.g. 1h, 30m)")
            }
            configuration.dispatcher.grace = seconds
        }
        if let gap = flags.sendGap ?? environment["CRIER_SEND_GAP"] {
            guard let range = DispatcherConfiguration.parseGap(gap), range.upperBound <= 3600 else {
                throw ConfigurationError("--send-gap: '\(gap)' is not a gap like 2s-5s, 3s or 0")
            }
            configuration.dispatcher.sendGap = range
        }
        if let value = flags.maxInFlight ?? environment["CRIER_MAX_IN_FLIGHT"] {
            guard let count = Int(value), (1...10_000).contains(count) else {
                throw ConfigurationError("--max-in-flight: '\(value)' is not a whole number from 1 to 10000")
            }
            configuration.dispatcher.maxInFlight = count
        }
        if let lease = flags.lease ?? environment["CRIER_LEASE"] {
            guard let seconds = DispatcherConfiguration.parseDuration(lease), (1...600).contains(seconds) else {
                throw ConfigurationError("--lease: '\(lease)' is not a duration from 1s to 10m")
            }
            configuration.dispatcher.leaseDuration = seconds
        }
        if let secret = environment["CRIER_WEBHOOK_SECRET"], !secret.isEmpty {
            guard secret.count >= minWebhookSecretLength else {
                throw ConfigurationError(
                    "CRIER_WEBHOOK_SECRET must be at least \(minWebhookSecretLength) characters (e.g. openssl rand -hex 32)")
            }
            configuration.webhookSecret = secret
        }
        if let publicURL = flags.publicURL ?? environment["CRIER_PUBLIC_URL"], !publicURL.isEmpty {
            guard let url = URL(string: publicURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ConfigurationError("--public-url: '\(publicURL)' is not an http(s) URL (e.g. https://crier.example.org)")
            }
            configuration.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        }
        if let quota = flags.userQuota ?? environment["CRIER_USER_QUOTA"], !quota.isEmpty {
            configuration.userQuota = try parseQuota(quota)
        }
        if let proxies = flags.trustedProxy ?? environment["CRIER_TRUSTED_PROXY"], !proxies.isEmpty {
            configuration.trustedProxies = try proxies.split(separator: ",").map { entry in
                guard let network = IPNetwork(String(entry)) else {
                    throw ConfigurationError("--trusted-proxy: '\(entry)' is not an IP address or network (e.g. 127.0.0.1,10.0.0.0/8)")
                }
                return network
            }
        }
        return configuration
    }

    /// `campaigns=N,messages=N,bytes=N[KB|MB|GB]`, any of the three; the others keep their defaults.
    static func parseQuota(_ text: String) throws -> UserQuota {
        var quota = UserQuota.standard
        let units: [(String, Int)] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("", 1)]
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let invalid = ConfigurationError(
                "--user-quota: '\(entry)' is not campaigns=N, messages=N or bytes=N[KB|MB|GB] (e.g. campaigns=500,bytes=32MB)")
            guard parts.count == 2 else { throw invalid }
            var value = parts[1].uppercased()
            var multiplier = 1
            if parts[0] == "bytes", let unit = units.first(where: { !$0.0.isEmpty && value.hasSuffix($0.0) }) {
                value = String(value.dropLast(unit.0.count))
                multiplier = unit.1
            }
            guard let number = Int(value), number > 0, number <= Int.max / 4 / multiplier else { throw invalid }
            switch parts[0] {
            case "campaigns": quota.campaigns = number
            case "messages": quota.messages = number
            case "bytes": quota.bytes = number * multiplier
            default: throw invalid
            }
        }
        return quota
    }

    /// `HOST:PORT`, `:PORT` or `[IPv6]:PORT`.
    static func parseBind(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ConfigurationError("--bind: '\(text)' is not HOST:PORT (e.g. 127.0.0.1:8080)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }
}
