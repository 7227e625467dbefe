import CrierGateway
import CrierService
import CrierStorage
import Hummingbird

/// What the HTTP layer needs, chosen by the composition root.
public struct APIDependencies: Sendable {
    public let store: any Store
    public let gateway: any Gateway
    public let campaigns: CampaignService
    public let sessions: SessionService
    public let accounts: AccountService

    public init(
        store: any Store, gateway: any Gateway, campaigns: CampaignService, sessions: SessionService,
        accounts: AccountService
    ) {
        self.store = store
        self.gateway = gateway
        self.campaigns = campaigns
        self.sessions = sessions
        self.accounts = accounts
    }
}

/// Every route of the server: operations at the root, the JSON API under `/api` behind bearer auth.
public func buildRouter(_ dependencies: APIDependencies) -> Router<CrierRequestContext> {
    let router = Router(context: CrierRequestContext.self)
    router.add(middleware: ErrorMiddleware())
    OperationsController(store: dependencies.store, gateway: dependencies.gateway).addRoutes(to: router)
    let api = router.group("api").add(middleware: BearerAuthMiddleware(accounts: dependencies.accounts))
    CampaignController(campaigns: dependencies.campaigns).addRoutes(to: api.group("campaigns"))
    SessionController(sessions: dependencies.sessions).addRoutes(to: api.group("sessions"))
    return router
}
