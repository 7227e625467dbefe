import ArgumentParser
import CrierServer
import Hummingbird
import Logging

/// Options every command that touches the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "PATH, sqlite:PATH or postgres://… (env CRIER_DATABASE_URL; default crier.sqlite).")
    var database: String?

    func location() throws -> DatabaseLocation {
        try ServerConfiguration.resolve(database: database).database
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API (migrates the database first).")

    @OptionGroup var databaseOptions: DatabaseOptions

    @Option(help: "HOST:PORT to listen on (env CRIER_BIND; default 127.0.0.1:8080).")
    var bind: String?

    @Option(help: "IANA zone for campaigns that name none (env CRIER_DEFAULT_TIME_ZONE; default UTC).")
    var defaultTimeZone: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env CRIER_LOG_LEVEL; default info).")
    var logLevel: String?

    func run() async throws {
        let configuration = try ServerConfiguration.resolve(
            bind: bind, database: databaseOptions.database, defaultTimeZone: defaultTimeZone, logLevel: logLevel)
        var logger = Logger(label: "crier")
        logger.logLevel = configuration.logLevel
        let app = try await buildApplication(configuration, logger: logger)
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")

    @OptionGroup var databaseOptions: DatabaseOptions

    func run() async throws {
        try await openStore(try databaseOptions.location()).migrate()
        print("Database is up to date.")
    }
}
