import CrierCore
import CrierGateway
import CrierHTTP
import CrierService
import CrierStorage
import Hummingbird
import Logging

/// Opens the configured database (without migrating it).
public func openStore(_ location: DatabaseLocation) throws -> any Store {
    switch location {
    case .sqlite(let path):
        return try SQLiteStore.open(path: path)
    case .postgres:
        throw ConfigurationError("PostgreSQL is not supported by this build yet; use a SQLite file path for --database")
    }
}

/// Builds the whole server: the single place where concrete types are chosen. Production (`crier
/// serve`) and tests both call it. The database is migrated before anything can use it.
public func buildApplication(
    _ configuration: ServerConfiguration, clock: any WallClock = SystemWallClock(), logger: Logger
) async throws -> some ApplicationProtocol {
    let store = try openStore(configuration.database)
    try await store.migrate()
    let gateway = ConsoleGateway()
    logger.notice(
        "Crier starting",
        metadata: [
            "database": "\(configuration.database.logDescription)", "gateway": "\(gateway.kind)",
            "defaultTimeZone": "\(configuration.defaultTimeZone)",
        ])
    logger.warning("Gateway 'console': messages are printed here, NOT sent to WhatsApp")
    let router = buildRouter(
        apiDependencies(configuration, store: store, gateway: gateway, clock: clock))
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Crier"),
        logger: logger)
}

/// The services behind the HTTP API, wired to one store, gateway and clock.
func apiDependencies(
    _ configuration: ServerConfiguration, store: any Store, gateway: any Gateway, clock: any WallClock
) -> APIDependencies {
    APIDependencies(
        store: store, gateway: gateway,
        campaigns: CampaignService(
            store: store, clock: clock, validator: CampaignValidator(defaultTimeZone: configuration.defaultTimeZone)),
        sessions: SessionService(store: store, gateway: gateway, clock: clock),
        accounts: AccountService(store: store, clock: clock))
}

extension DatabaseLocation {
    /// The location without credentials, for logs.
    var logDescription: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres: "postgres (credentials hidden)"
        }
    }
}
