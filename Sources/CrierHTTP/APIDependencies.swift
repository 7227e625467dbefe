import CrierCore
import CrierGateway
import CrierService
import Hummingbird

/// What the HTTP layer needs, chosen by the composition root.
public struct APIDependencies: Sendable {
    public let gateway: any Gateway
    public let gatewayHealth: GatewayHealth
    public let storageHealth: StorageHealth
    public let clock: any WallClock
    public let campaigns: CampaignService
    public let sessions: SessionService
    public let accounts: AccountService
    /// What WAHA's webhooks report (receipts, session status), applied.
    public let gatewayEvents: GatewayEventService
    public let webhookSecret: String?
    /// Prometheus text exposition of every metric.
    public let renderMetrics: @Sendable () -> String
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    public let trustedProxies: [IPNetwork]

    public init(
        gateway: any Gateway, gatewayHealth: GatewayHealth, storageHealth: StorageHealth,
        clock: any WallClock,
        campaigns: CampaignService, sessions: SessionService, accounts: AccountService,
        gatewayEvents: GatewayEventService, webhookSecret: String?,
        renderMetrics: @escaping @Sendable () -> String,
        trustedProxies: [IPNetwork] = []
    ) {
        self.gateway = gateway
        self.gatewayHealth = gatewayHealth
        self.storageHealth = storageHealth
        self.clock = clock
        self.campaigns = campaigns
        self.sessions = sessions
        self.accounts = accounts
        self.gatewayEvents = gatewayEvents
        self.webhookSecret = webhookSecret
        self.renderMetrics = renderMetrics
        self.trustedProxies = trustedProxies
    }
}

/// The API's routes: operations at the root, WAHA's webhook, and the JSON API under `/api` behind
/// bearer auth. The root router (CrierServer) adds them beside the dashboard's.
public struct APIRoutes: Sendable {
    let dependencies: APIDependencies

    public init(_ dependencies: APIDependencies) { self.dependencies = dependencies }

    /// Errors as JSON (or `htmlErrorPage` for a browser outside the API), and who the client is:
    /// the first middleware of the whole router.
    public func addMiddleware(
        to router: Router<CrierRequestContext>, htmlErrorPage: (@Sendable (APIError) -> Response)? = nil
    ) {
        router.add(middleware: ErrorMiddleware(storage: dependencies.storageHealth, htmlPage: htmlErrorPage))
        router.add(middleware: ClientAddressMiddleware(trustedProxies: dependencies.trustedProxies))
    }

    public func addRoutes(to router: Router<CrierRequestContext>) {
        OperationsController(
            storage: dependencies.storageHealth, gateway: dependencies.gateway, health: dependencies.gatewayHealth,
            renderMetrics: dependencies.renderMetrics
        ).addRoutes(to: router)
        WebhookController(events: dependencies.gatewayEvents, secret: dependencies.webhookSecret).addRoutes(to: router)
        let api = router.group("api").add(middleware: BearerAuthMiddleware(accounts: dependencies.accounts))
        CampaignController(campaigns: dependencies.campaigns).addRoutes(to: api.group("campaigns"))
        SessionController(sessions: dependencies.sessions).addRoutes(to: api.group("sessions"))
    }

    /// 405 with `Allow` for a known path asked with another method: added last, once every route is in.
    public static func answerOtherMethods(of router: Router<CrierRequestContext>) {
        router.add(middleware: MethodNotAllowedMiddleware<CrierRequestContext>(routes: router.routes))
    }
}
