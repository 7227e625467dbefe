import ArgumentParser
import CrierServer
import CrierStorage
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Logging
import NIOCore

/// Options every command that touches the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "PATH, sqlite:PATH or postgres://… (env CRIER_DATABASE_URL; default crier.sqlite).")
    var database: String?

    func location() throws -> DatabaseLocation {
        try ServerConfiguration.resolve(database: database).database
    }

    /// The store of an existing database, migrated.
    func existingStore() async throws -> any Store {
        let location = try location()
        if case .sqlite(let path) = location { try Self.requireFile(path) }
        let store = try openStore(location)
        try await store.migrate()
        return store
    }

    /// A SQLite file that does not exist is an error naming the path (a typo must not silently
    /// create an empty database beside the real one).
    static func requireFile(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        throw ConfigurationError(
            "No database at \(path); run this where `crier serve` keeps crier.sqlite, pass --database PATH, "
                + "or create one with `crier migrate`")
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP API and the dispatcher (migrates the database first).",
        discussion: """
            Secrets are read only from the environment, never from flags (which show in `ps`):
              CRIER_WAHA_API_KEY     WAHA's API key (X-Api-Key).
              CRIER_WEBHOOK_SECRET   HMAC-SHA512 key WAHA signs webhooks with, at least 16 characters;
                                     webhooks are refused without one.
            """)

    @OptionGroup var databaseOptions: DatabaseOptions

    @Option(help: "HOST:PORT to listen on (env CRIER_BIND; default 127.0.0.1:8080).")
    var bind: String?

    @Option(help: "IANA zone for campaigns that name none (env CRIER_DEFAULT_TIME_ZONE; default UTC).")
    var defaultTimeZone: String?

    @Option(help: "console or waha (env CRIER_GATEWAY; default waha when a WAHA URL is set, else console).")
    var gateway: String?

    @Option(help: "WAHA base URL, e.g. http://127.0.0.1:3000 (env CRIER_WAHA_URL).")
    var wahaUrl: String?

    @Option(help: "How late a message may still go out before it is marked missed, 0 to 24h (env CRIER_GRACE; default 1h).")
    var grace: String?

    @Option(help: "Random gap between sends through one session, e.g. 2s-5s, or 0 (env CRIER_SEND_GAP; default 2s-5s).")
    var sendGap: String?

    @Option(help: "Gateway requests open at once (env CRIER_MAX_IN_FLIGHT; default 100).")
    var maxInFlight: String?

    @Option(help: "How WAHA reaches this server, e.g. https://crier.example.org (env CRIER_PUBLIC_URL); with CRIER_WEBHOOK_SECRET, sessions Crier creates get a signed webhook for receipts.")
    var publicUrl: String?

    @Option(help: "How long a claimed message stays claimed without renewal before another process may recover it, 1s to 10m (env CRIER_LEASE; default 30s).")
    var lease: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env CRIER_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(help: "What each user may keep, any of campaigns=N,messages=N,bytes=N[KB|MB|GB] (env CRIER_USER_QUOTA; default campaigns=1000,messages=200000,bytes=64MB).")
    var userQuota: String?

    @Option(help: "Reverse proxies whose X-Forwarded-For names the client, addresses or networks, comma-separated, e.g. 127.0.0.1,10.0.0.0/8 (env CRIER_TRUSTED_PROXY; default none).")
    var trustedProxy: String?

    func run() async throws {
        try await reportingFailures {
            let configuration = try ServerConfiguration.resolve(
                ServeFlags(
                    bind: bind, database: databaseOptions.database, defaultTimeZone: defaultTimeZone, logLevel: logLevel,
                    gateway: gateway, wahaURL: wahaUrl, grace: grace, sendGap: sendGap, maxInFlight: maxInFlight,
                    publicURL: publicUrl, lease: lease, trustedProxy: trustedProxy,
                    userQuota: userQuota))
            var logger = Logger(label: "crier")
            logger.logLevel = configuration.logLevel
            raiseOpenFileLimit()
            let app = try await buildApplication(configuration, logger: logger)
            do {
                try await app.runService()
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                throw ConfigurationError(
                    "\(configuration.host):\(configuration.port) is already in use; choose another with --bind")
            }
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")

    @OptionGroup var databaseOptions: DatabaseOptions

    func run() async throws {
        try await reportingFailures {
            try await openStore(try databaseOptions.location()).migrate()
            print("Database is up to date.")
        }
    }
}

/// Lets the process open as many files as the system allows it: the connection cap (1000) and the
/// gateway's connections must fit under the soft limit, which is often only 1024.
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}
