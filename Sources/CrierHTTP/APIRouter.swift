import CrierCore
import CrierGateway
import CrierService
import CrierStorage
import Hummingbird

/// What the HTTP layer needs, chosen by the composition root.
public struct APIDependencies: Sendable {
    public let store: any Store
    public let gateway: any Gateway
    public let gatewayHealth: GatewayHealth
    public let storageHealth: StorageHealth
    public let clock: any WallClock
    public let campaigns: CampaignService
    public let sessions: SessionService
    public let accounts: AccountService
    public let webhookSecret: String?
    /// Prometheus text exposition of every metric.
    public let renderMetrics: @Sendable () -> String
    /// Wakes the dispatchers (a session came back).
    public let wakeDispatcher: @Sendable () async -> Void
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    public let trustedProxies: [IPNetwork]

    public init(
        store: any Store, gateway: any Gateway, gatewayHealth: GatewayHealth, storageHealth: StorageHealth,
        clock: any WallClock,
        campaigns: CampaignService, sessions: SessionService, accounts: AccountService, webhookSecret: String?,
        renderMetrics: @escaping @Sendable () -> String, wakeDispatcher: @escaping @Sendable () async -> Void,
        trustedProxies: [IPNetwork] = []
    ) {
        self.store = store
        self.gateway = gateway
        self.gatewayHealth = gatewayHealth
        self.storageHealth = storageHealth
        self.clock = clock
        self.campaigns = campaigns
        self.sessions = sessions
        self.accounts = accounts
        self.webhookSecret = webhookSecret
        self.renderMetrics = renderMetrics
        self.wakeDispatcher = wakeDispatcher
        self.trustedProxies = trustedProxies
    }
}

/// Every route of the server: operations at the root, the JSON API under `/api` behind bearer auth,
/// and whatever `mount` adds (the dashboard's pages). `htmlErrorPage` answers browsers that reach
/// an error outside the API (an unknown address).
public func buildRouter(
    _ dependencies: APIDependencies, mount: (Router<CrierRequestContext>) -> Void = { _ in },
    htmlErrorPage: (@Sendable (APIError) -> Response)? = nil
) -> Router<CrierRequestContext> {
    let router = Router(context: CrierRequestContext.self)
    router.add(middleware: ErrorMiddleware(storage: dependencies.storageHealth, htmlPage: htmlErrorPage))
    router.add(middleware: ClientAddressMiddleware(trustedProxies: dependencies.trustedProxies))
    OperationsController(
        storage: dependencies.storageHealth, gateway: dependencies.gateway, health: dependencies.gatewayHealth,
        renderMetrics: dependencies.renderMetrics
    ).addRoutes(to: router)
    WebhookController(
        events: GatewayEventService(
            store: dependencies.store, clock: dependencies.clock, sessionRecovered: dependencies.wakeDispatcher),
        secret: dependencies.webhookSecret
    ).addRoutes(to: router)
    let api = router.group("api").add(middleware: BearerAuthMiddleware(accounts: dependencies.accounts))
    CampaignController(campaigns: dependencies.campaigns).addRoutes(to: api.group("campaigns"))
    SessionController(sessions: dependencies.sessions).addRoutes(to: api.group("sessions"))
    mount(router)
    router.add(middleware: MethodNotAllowedMiddleware<CrierRequestContext>(routes: router.routes))
    return router
}
