import CrierCore
import CrierDispatch
import CrierGateway
import CrierHTTP
import CrierPostgres
import CrierService
import CrierStorage
import CrierWeb
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// Opens the configured database (without migrating it); `quota` is what each user may keep.
public func openStore(_ location: DatabaseLocation, quota: UserQuota = .unlimited) throws -> any Store {
    switch location {
    case .sqlite(let path):
        return try SQLiteStore.open(path: path, quota: quota)
    case .postgres(let url):
        return try PostgresStore.open(url: url, quota: quota)
    }
}

/// Every route of the server, as the Hummingbird template builds it beside `buildApplication`: the
/// API's (operations, webhooks, `/api`) and the dashboard's pages, one error answer for both.
func buildRouter(_ dependencies: APIDependencies, dashboard: Dashboard?) -> Router<CrierRequestContext> {
    let router = Router(context: CrierRequestContext.self)
    let api = APIRoutes(dependencies)
    api.addMiddleware(to: router, htmlErrorPage: dashboard?.errorPage)
    api.addRoutes(to: router)
    dashboard?.addRoutes(to: router)
    APIRoutes.answerOtherMethods(of: router)
    return router
}

/// Everything a running server is made of, wired once.
struct ServerComponents {
    let store: any Store
    let gateway: any Gateway
    let dispatcher: Dispatcher
    let dependencies: APIDependencies
    /// In start order; they stop in reverse, so the dispatcher stops before the HTTP client it uses.
    let services: [any Service]
}

/// Builds the whole server: the single place where concrete types are chosen. Production (`crier
/// serve`) and tests both call it. The database is migrated before anything, the dispatcher
/// included, can use it.
public func buildApplication(
    _ configuration: ServerConfiguration, clock: any WallClock = SystemWallClock(), logger: Logger
) async throws -> some ApplicationProtocol {
    let store = try openStore(configuration.database, quota: configuration.userQuota)
    try await store.migrate()
    let components = makeComponents(configuration, store: store, clock: clock, logger: logger)
    let dashboard = try await makeDashboard(configuration, components: components, clock: clock)
    logger.notice(
        "Crier starting",
        metadata: [
            "database": "\(configuration.database.logDescription)", "gateway": "\(components.gateway.kind)",
            "defaultTimeZone": "\(configuration.defaultTimeZone)",
            "grace": "\(Int(configuration.dispatcher.grace))s",
            "sendGap": "\(configuration.dispatcher.sendGap.lowerBound)-\(configuration.dispatcher.sendGap.upperBound)s",
            "webhooks": "\(configuration.webhookSecret == nil ? "disabled" : "enabled")",
        ])
    if components.gateway is ConsoleGateway {
        logger.warning("Gateway 'console': messages are printed here, NOT sent to WhatsApp")
    }
    let serverStarted = StartGate()
    let guardTimeouts = ConnectionGuard.Timeouts(
        headTimeout: configuration.requestHeadTimeout, requestTimeout: configuration.requestTimeout)
    let admission = ConnectionAdmission(
        limits: .init(
            regular: configuration.maxConnections, reserve: configuration.reservedLocalConnections,
            perAddress: configuration.maxConnectionsPerAddress),
        trustedProxies: configuration.trustedProxies)
    return Application(
        router: buildRouter(components.dependencies, dashboard: dashboard),
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [ConnectionGuard(timeouts: guardTimeouts, admission: admission)])),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "Crier",
            availableConnectionsDelegate: .maximum(
                configuration.maxConnections + configuration.reservedLocalConnections, logger: logger)),
        services: components.services.map { service in
            service is Dispatcher ? GatedService(gate: serverStarted, service: service) : service
        } + [
            dashboard.liveFeedService { [store = components.store] onActivity in
                await store.changes.follow { change in
                    if case .activity(let owner) = change { onActivity(owner) }
                }
            }
        ],
        onServerRunning: { _ in serverStarted.open() },
        logger: logger)
}

/// Wires store, gateway, dispatcher and services together.
func makeComponents(
    _ configuration: ServerConfiguration, store: any Store, clock: any WallClock, logger: Logger
) -> ServerComponents {
    let registry = PrometheusCollectorRegistry()
    let health = GatewayHealth()
    let wakeUp = WakeUpSignal()
    let gateway: any Gateway
    var services: [any Service] = []
    switch configuration.gateway {
    case .console:
        gateway = ConsoleGateway(logger: logger)
    case .waha(let url, let apiKey):
        let httpClient = HTTPClientService(maxConnections: configuration.dispatcher.maxInFlight)
        services.append(httpClient)
        let (seconds, attoseconds) = configuration.gatewayRequestTimeout.components
        gateway = WAHAClient(
            baseURL: url, apiKey: apiKey, httpClient: httpClient.client,
            requestTimeout: .milliseconds(seconds * 1000 + attoseconds / 1_000_000_000_000_000),
            observe: DispatchMetrics.gatewayRequestObserver(registry: registry))
    }
    let dispatcher = Dispatcher(
        store: store, gateway: gateway, clock: clock, configuration: configuration.dispatcher, health: health,
        metrics: DispatchMetrics(registry: registry), wakeUp: wakeUp, logger: logger)
    let dependencies = APIDependencies(
        gateway: gateway, gatewayHealth: health, storageHealth: StorageHealth(store: store, clock: clock),
        clock: clock,
        campaigns: CampaignService(
            store: store, clock: clock, validator: CampaignValidator(defaultTimeZone: configuration.defaultTimeZone),
            onScheduleChange: { due, owner in
                await store.changes.announce(.scheduleChanged(earliestDue: due))
                dispatcher.noteActivity(of: owner)
            }),
        sessions: SessionService(
            store: store, gateway: gateway, clock: clock, webhook: configuration.sessionWebhook),
        accounts: AccountService(store: store, clock: clock, passwordHashCost: configuration.passwordHashCost),
        gatewayEvents: GatewayEventService(
            store: store, clock: clock, sessionRecovered: { await store.changes.announce(.sessionRecovered) }),
        webhookSecret: configuration.webhookSecret,
        renderMetrics: { registry.emitToString() },
        trustedProxies: configuration.trustedProxies)
    services.append(dispatcher)
    return ServerComponents(
        store: store, gateway: gateway, dispatcher: dispatcher, dependencies: dependencies, services: services)
}

/// The browser dashboard over the same services as the API.
func makeDashboard(
    _ configuration: ServerConfiguration, components: ServerComponents, clock: any WallClock
) async throws -> Dashboard {
    let dependencies = components.dependencies
    return Dashboard(
        accounts: dependencies.accounts, campaigns: dependencies.campaigns, sessions: dependencies.sessions,
        throttle: SignInThrottle(clock: clock), signUps: SignUpLimiter(clock: clock), storage: dependencies.storageHealth, renderer: try await PageRenderer.load(), assets: try DashboardAssets.load(),
        clock: clock, isConsoleGateway: components.gateway is ConsoleGateway,
        defaultTimeZone: configuration.defaultTimeZone, publicURL: configuration.publicURL,
        liveStreamLimits: (configuration.maxLiveStreamsPerUser, configuration.maxLiveStreams))
}

extension ServerConfiguration {
    /// The webhook WAHA should call for sessions Crier creates: needs both the public URL and a secret.
    var sessionWebhook: SessionSetup.Webhook? {
        guard let publicURL, let webhookSecret else { return nil }
        return SessionSetup.Webhook(url: publicURL + "/api/webhooks/waha", hmacKey: webhookSecret)
    }
}

extension DatabaseLocation {
    /// The location without credentials, for logs.
    var logDescription: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url): (try? PostgresURL(url).redacted) ?? "postgres (credentials hidden)"
        }
    }
}
