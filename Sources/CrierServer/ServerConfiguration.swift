import CrierCore
import Foundation
import Logging

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

/// Every server setting, each from one documented source: a flag, else its environment variable,
/// else the embedded default.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var database = DatabaseLocation.sqlite(path: "crier.sqlite")
    public var defaultTimeZone = "UTC"
    public var logLevel = Logger.Level.info

    public init() {}

    /// Resolves flags (`nil` when not given) against the environment.
    public static func resolve(
        bind: String? = nil, database: String? = nil, defaultTimeZone: String? = nil, logLevel: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServerConfiguration {
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
        return configuration
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
