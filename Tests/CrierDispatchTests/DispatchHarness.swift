import CrierCore
import CrierDispatch
import CrierGateway
import CrierService
import CrierStorage
import CrierTestSupport
import Foundation
import Logging
import Prometheus

/// A dispatcher wired to a fresh store (in-memory SQLite, or PostgreSQL with
/// `CRIER_TEST_STORE=postgres`), a manual clock and the WAHA double, with a user who owns sessions
/// named on demand.
struct DispatchHarness {
    let store: any StoreTestSeam
    let clock: ManualClock
    let double: WAHADouble
    let dispatcher: Dispatcher
    let campaigns: CampaignService
    let accounts: AccountService
    let user: User
    let registry: PrometheusCollectorRegistry
    let health: GatewayHealth
    let wakeUp: WakeUpSignal

    /// Now, in the harness's world: an hour before the first test message is due.
    static let start = "2030-01-01T08:00:00Z"

    static func with(
        gateway makeGateway: ((WAHADouble) -> any Gateway)? = nil,
        dispatchStore wrapStore: (any DispatchStore & SessionStatusStore) -> any DispatchStore & SessionStatusStore = { $0 },
        _ configure: (inout DispatcherConfiguration) -> Void = { _ in },
        _ body: (DispatchHarness) async throws -> Void
    ) async throws {
        let clock = ManualClock(start)
        try await WAHADouble.withRunning(clock: clock, everySessionWorking: true) { double in
            let store = try await TestBackend.harnessBackend.makeStore()
            var configuration = DispatcherConfiguration()
            configuration.sendGap = 0...0
            configuration.recheckInterval = 0.05
            configuration.shutdownTimeout = .seconds(5)
            configure(&configuration)
            let registry = PrometheusCollectorRegistry()
            let health = GatewayHealth()
            let wakeUp = WakeUpSignal()
            let gateway = makeGateway?(double)
                ?? WAHAClient(baseURL: double.baseURL, apiKey: "key", sendTimeout: .seconds(1), requestTimeout: .seconds(2))
            var logger = Logger(label: "dispatch-test")
            logger.logLevel = .critical
            let dispatcher = Dispatcher(
                store: wrapStore(store), gateway: gateway, clock: clock, configuration: configuration, health: health,
                metrics: DispatchMetrics(registry: registry), wakeUp: wakeUp, random: FixedRandom(), logger: logger)
            let accounts = AccountService(store: store, clock: clock, passwordHashCost: 4)
            let user = try await accounts.addUser(email: "ada@example.com", name: nil, password: "password1", isAdmin: false)
            let campaigns = CampaignService(
                store: store, clock: clock, validator: CampaignValidator(), onScheduleChange: { due, _ in wakeUp.signal(dueAt: due) })
            try await body(
                DispatchHarness(
                    store: store, clock: clock, double: double, dispatcher: dispatcher, campaigns: campaigns,
                    accounts: accounts, user: user, registry: registry, health: health, wakeUp: wakeUp))
        }
    }

    /// Schedules a countdown of `days` daily messages at `time` UTC from 2030-01-01 through `session`;
    /// returns the campaign id.
    @discardableResult
    func schedule(session: String = "s1", days: Int = 1, time: String = "09:00", template: String = "{days_left} days left")
        async throws -> String
    {
        _ = try await store.registerSession(name: session, ownerId: user.id, at: clock.now())
        let end = LocalDate(iso: "2030-01-01")!.adding(days: days - 1)
        var input = Fixtures.campaignInput(sessionId: session, start: "2030-01-01", end: end.description, time: time)
        input.messageTemplate = template
        input.isFreeForm = true
        return try await campaigns.create(input, for: user)
    }

    func messages(_ campaignId: String) async throws -> [StoredMessage] {
        try await store.campaign(id: campaignId, ownerId: user.id)?.messages ?? []
    }

    func message(_ campaignId: String) async throws -> StoredMessage {
        guard let message = try await messages(campaignId).first else { throw HarnessError("no message") }
        return message
    }

    /// Dispatch bookkeeping the API does not show.
    func internals(_ messageId: Int64) async throws -> MessageInternals {
        guard let internals = try await store.internals(ofMessage: messageId) else { throw HarnessError("no message") }
        return internals
    }

    func metricsText() -> String { registry.emitToString() }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Jitter and gaps at their midpoint, so timings are predictable.
struct FixedRandom: RandomSource {
    func unit() -> Double { 0.5 }
}
