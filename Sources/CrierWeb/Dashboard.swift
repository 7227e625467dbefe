import CrierCore
import CrierHTTP
import CrierService
import Foundation
import Hummingbird
import ServiceLifecycle

/// The browser dashboard, mounted at `/` beside the JSON API: server-rendered pages over the same
/// services, scoped to the same users, with a cookie sign-in instead of a bearer token.
public struct Dashboard: Sendable {
    let accounts: AccountService
    let campaigns: CampaignService
    let sessions: SessionService
    let throttle: SignInThrottle
    let signUps: SignUpLimiter
    /// Notes the database failing for readiness; its errors become 503 pages.
    let storage: StorageHealth
    let renderer: PageRenderer
    let assets: DashboardAssets
    let clock: any WallClock
    /// The console gateway prints instead of sending: every page says so.
    let isConsoleGateway: Bool
    let defaultTimeZone: String
    let publicURLIsHTTPS: Bool
    /// How users reach the dashboard (reset links), when configured.
    let publicURL: String?
    /// The open `/events` streams, and how live pages are timed.
    let streams: LiveStreams
    let liveTiming: LiveTiming

    public init(
        accounts: AccountService, campaigns: CampaignService, sessions: SessionService, throttle: SignInThrottle,
        signUps: SignUpLimiter, storage: StorageHealth, renderer: PageRenderer, assets: DashboardAssets, clock: any WallClock, isConsoleGateway: Bool,
        defaultTimeZone: String, publicURL: String?, liveStreamLimits: (perUser: Int, total: Int) = (4, 200)
    ) {
        self.accounts = accounts
        self.campaigns = campaigns
        self.sessions = sessions
        self.throttle = throttle
        self.signUps = signUps
        self.storage = storage
        self.renderer = renderer
        self.assets = assets
        self.clock = clock
        self.isConsoleGateway = isConsoleGateway
        self.defaultTimeZone = defaultTimeZone
        self.publicURLIsHTTPS = publicURL?.lowercased().hasPrefix("https://") ?? false
        self.publicURL = publicURL
        streams = LiveStreams(limits: .init(perUser: liveStreamLimits.perUser, total: liveStreamLimits.total))
        liveTiming = LiveTiming()
    }

    /// The service that tells open pages what changed: it follows the store's activity
    /// announcements (`follow` calls its argument with each announced owner, `nil` for anyone).
    public func liveFeedService(
        follow: @escaping @Sendable (@escaping @Sendable (Int64?) -> Void) async -> Void
    ) -> some Service {
        LiveFeedService(streams: streams, followActivity: follow)
    }

    public func addRoutes(to router: Router<CrierRequestContext>) {
        assets.addRoutes(to: router)
        let pages = router.group(context: WebContext.self)
            .add(middleware: WebSessionMiddleware(accounts: accounts, sessions: sessions, publicURLIsHTTPS: publicURLIsHTTPS))
            .add(middleware: WebErrorMiddleware(dashboard: self))
        AccountPages(dashboard: self).addRoutes(to: pages)
        CampaignPages(dashboard: self).addRoutes(to: pages)
        SessionPages(dashboard: self).addRoutes(to: pages)
        LiveEventsPage(dashboard: self).addRoutes(to: pages)
    }

    /// The error page for a browser outside any dashboard route (no sign-in is looked up there).
    @Sendable public func errorPage(_ error: APIError) -> Response {
        let html = renderer.html(
            "error",
            [
                "layout": Layout(
                    title: error.status.reasonPhrase, user: nil, csrf: "", consoleGateway: isConsoleGateway, notice: nil,
                    numbers: []),
                "reason": error.status.reasonPhrase, "message": error.message,
            ])
        return PageRenderer.htmlResponse(html, status: error.status)
    }

    /// A live part of a page alone, for the page's script (`?fragment=…`, `data-live`).
    func fragment(_ template: String, context: WebContext, _ values: [String: Any] = [:]) -> Response {
        renderer.fragment(template, context: context, values)
    }

    /// A full page for this request, with the layout's gateway warning and an optional notice.
    func page(
        _ template: String, title: String, context: WebContext, status: HTTPResponse.Status = .ok,
        notice: String? = nil, _ values: [String: Any] = [:]
    ) -> Response {
        renderer.page(
            template, title: title, context: context, status: status, values,
            layout: LayoutOptions(consoleGateway: isConsoleGateway, notice: notice))
    }
}
