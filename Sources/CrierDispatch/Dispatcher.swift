import CrierCore
import CrierGateway
import CrierStorage
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Sends due messages, once, on time, and records how each attempt ended (DESIGN §5).
///
/// Each pass recovers dead processes' claims, marks messages past their grace window `missed`, and
/// claims due messages with a lease into per-session lanes. Outcomes are recorded with the claim's
/// fencing token, so a claim that was recovered by another process cannot be overwritten.
public final class Dispatcher: Service, Sendable {
    let store: any DispatchStore & SessionStatusStore
    let gateway: any Gateway
    let clock: any WallClock
    let configuration: DispatcherConfiguration
    let health: GatewayHealth
    let metrics: DispatchMetrics
    let wakeUp: WakeUpSignal
    let random: any RandomSource
    let logger: Logger
    /// Names this process's claims.
    let owner = UUID().uuidString
    let lanes = SessionLanes()
    let inFlight: AsyncSemaphore
    let policy: DispatchPolicy
    /// Outcomes and reserved ids of concurrent sends, each written many to a transaction.
    let outcomes: GroupCommit<OutcomeRecord, Bool>
    let reservations: GroupCommit<MessageIdReservation, Bool>
    /// Claims whose outcome could not be recorded, with when: no longer renewed, so that their lease
    /// runs out and whoever recovers them asks the gateway what happened (DESIGN §5) instead of the
    /// message staying `sending` for as long as this process lives.
    let unrecorded = Mutex<[Int64: Date]>([:])
    /// Refreshes the pages of users whose messages changed.
    let activity: ActivityAnnouncer
    /// The status last stored for each session from what sends learnt (stored again only on change:
    /// every send would otherwise be a write).
    let knownStatus = Mutex<[String: SessionStatus]>([:])

    public init(
        store: any DispatchStore & SessionStatusStore, gateway: any Gateway, clock: any WallClock, configuration: DispatcherConfiguration,
        health: GatewayHealth, metrics: DispatchMetrics, wakeUp: WakeUpSignal,
        random: any RandomSource = SystemRandomSource(), logger: Logger
    ) {
        self.store = store
        self.gateway = gateway
        self.clock = clock
        self.configuration = configuration
        self.health = health
        self.metrics = metrics
        self.wakeUp = wakeUp
        self.random = random
        self.logger = logger
        inFlight = AsyncSemaphore(configuration.maxInFlight)
        policy = DispatchPolicy(configuration: configuration)
        activity = ActivityAnnouncer(feed: store.changes)
        outcomes = GroupCommit(linger: configuration.outcomeLinger) { records in
            try await store.recordOutcomes(records).map { .success($0) }
        }
        reservations = GroupCommit(linger: configuration.reservationLinger) { reservations in
            try await store.recordReservedMessageIds(reservations).map { .success($0) }
        }
    }

    /// Runs until graceful shutdown: then stops claiming, lets in-flight sends finish (bounded), and
    /// releases the claims it never started.
    public func run() async throws {
        logger.info("Dispatcher started", metadata: ["owner": "\(owner)", "gateway": "\(gateway.kind)"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.renewLeases() }
                group.addTask {
                    while !Task.isCancelled {
                        await self.activity.flush()
                        try? await Task.sleep(for: .milliseconds(250))
                    }
                }
                // Another request, or another instance, changed what is due: look now, or when it falls due.
                group.addTask {
                    await self.store.changes.follow { change in
                        if change.concernsDispatch { self.wakeUp.signal(dueAt: change.earliestDue) }
                    }
                }
                var lastHousekeeping: Date?
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let now = self.clock.now()
                    let housekeeping = lastHousekeeping.map {
                        now.timeIntervalSince($0) >= self.configuration.housekeepingInterval
                    } ?? true
                    if housekeeping { lastHousekeeping = now }
                    let saturated = await self.pass(housekeeping: housekeeping) { session in
                        group.addTask { await self.runLane(session) }
                    }
                    await self.waitForWork(saturated: saturated)
                }
                let unstarted = lanes.drain()
                do {
                    try await store.releaseClaims(unstarted, owner: owner)
                } catch {
                    logger.error("Could not release claims; they will be recovered", metadata: ["error": "\(error)"])
                }
                let deadline = ContinuousClock.now + configuration.shutdownTimeout
                while !lanes.isIdle, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.wakeUp.signal()
        }
        logger.info("Dispatcher stopped")
    }

    /// One pass over what is due now, waiting for every send it starts. `run()` does the same without
    /// waiting; tests call this to step the dispatcher deterministically.
    /// Something of this owner's changed elsewhere (a campaign created or deleted): their pages
    /// refresh at the next flush, with whatever the dispatcher changed meanwhile.
    public func noteActivity(of owner: Int64) { activity.note(owner: owner) }

    public func dispatchDue() async {
        await withDiscardingTaskGroup { group in
            _ = await pass(housekeeping: true) { session in group.addTask { await self.runLane(session) } }
        }
        await activity.flush()
    }

    // MARK: The loop

    /// Recovers and marks missed (with `housekeeping`), then claims what is due. Returns whether it
    /// stopped claiming because it holds as many claims as it may (due messages may be left for the
    /// next pass), or because claiming failed.
    private func pass(housekeeping: Bool, startLane: (String) -> Void) async -> Bool {
        do {
            if housekeeping { try await keepHouse(now: clock.now()) }
            while true {
                let room = configuration.maxHeldClaims - lanes.held
                guard room > 0 else { return true }
                let limit = min(configuration.claimBatchSize, room)
                let claimedAt = clock.now()
                let claims = try await store.claimDueMessages(
                    now: claimedAt, limit: limit, owner: owner,
                    leaseUntil: claimedAt.addingTimeInterval(configuration.leaseDuration))
                if !claims.isEmpty { unrecorded.withLock { for claim in claims { $0[claim.id] = nil } } }
                for session in lanes.enqueue(claims) { startLane(session) }
                if claims.count < limit { return false }
            }
        } catch {
            logger.error("Dispatch pass failed; retrying shortly", metadata: ["error": "\(error)"])
            return true
        }
    }

    /// Claims whose process died go back to pending; messages past their grace window become missed.
    /// In the loop, once a second at most: with 200 messages a second each due at its own instant,
    /// doing it every pass cost two write transactions per message.
    private func keepHouse(now: Date) async throws {
        let recovered = try await store.recoverExpiredClaims(now: now, reconcileAfter: configuration.reconcileDelay)
        if recovered > 0 {
            activity.noteEveryone()
            metrics.recovered(recovered)
            logger.warning("Recovered expired claims", metadata: ["count": "\(recovered)"])
        }
        let missed = try await store.markMissed(
            scheduledBefore: now.addingTimeInterval(-configuration.grace),
            reason: policy.missedReason(""), now: now)
        if missed > 0 {
            activity.noteEveryone()
            metrics.missed(.graceExpired, count: missed)
        }
    }

    /// Sleeps until the earliest pending message is due, a change may have made something due sooner,
    /// or the re-check floor. A change that says when its messages fall due (a campaign created for
    /// later) only moves the wake-up earlier, without a look at the database. When the last pass could
    /// not claim everything due, it waits a moment for lanes to make room rather than spinning on the
    /// database.
    private func waitForWork(saturated: Bool) async {
        if saturated {
            _ = await wakeUp.wait(timeout: .milliseconds(50))
            return
        }
        var wakeAt = clock.now().addingTimeInterval(configuration.recheckInterval)
        if let next = try? await store.nextDueAt() { wakeAt = min(wakeAt, next) }
        while true {
            let timeout = wakeAt.timeIntervalSince(clock.now())
            guard timeout > 0 else { return }
            // To the nanosecond: rounded down to whole milliseconds, a message due in under one would be
            // looked for again and again, each time a transaction, until its instant came.
            switch await wakeUp.wait(timeout: .seconds(timeout)) {
            case .timedOut, .lookNow: return
            case .dueAt(let due): wakeAt = min(wakeAt, due)
            }
        }
    }

    private func renewLeases() async {
        let interval = Duration.milliseconds(Int64(configuration.leaseDuration * 1000 / 3))
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { return }
            do {
                let now = clock.now()
                let abandoned = unrecorded.withLock { unrecorded in
                    // Past two leases, the claim has run out and been recovered: nothing left to leave out.
                    unrecorded = unrecorded.filter { now.timeIntervalSince($0.value) < 2 * configuration.leaseDuration }
                    return Array(unrecorded.keys)
                }
                try await store.renewClaims(
                    owner: owner, until: now.addingTimeInterval(configuration.leaseDuration), except: abandoned)
            } catch {
                logger.error("Could not renew claims", metadata: ["error": "\(error)"])
            }
        }
    }

    private func runLane(_ session: String) async {
        while let claim = lanes.next(for: session) {
            await process(claim)
            lanes.finished()
        }
    }

    // MARK: One message

    private func process(_ claim: ClaimedMessage) async {
        var claim = claim
        let started = clock.now()
        let deadline = claim.scheduledAt.addingTimeInterval(configuration.grace)
        if claim.needsReconcile {
            guard await reconcile(claim, started: started, deadline: deadline) else { return }
        }
        if claim.attemptCount >= configuration.maxAttempts {
            let reason = "Gave up after \(claim.attemptCount) attempts: \(claim.lastError ?? "no details")"
            await apply(.fail(reason: reason, metric: .attemptsExhausted, gatewayStatus: nil), claim, started: started)
            return
        }
        if let notReady = lanes.notReadyReason(claim.sessionName) {
            await apply(
                policy.waitForSession(reason: notReady, possiblyDelivered: false, now: clock.now(), deadline: deadline),
                claim, started: started)
            return
        }
        let pacing = await paceSend(claim.sessionName)
        let sendStarted = clock.now()
        if sendStarted > deadline {  // checked after pacing, so no send starts past the window
            let reason = policy.missedReason(claim.lastError ?? "the server could not dispatch it in time")
            await apply(.miss(reason: reason, metric: .graceExpired), claim, started: started)
            return
        }
        let result: Result<SendReceipt, GatewayFailure>
        do {
            claim = try await reserveMessageId(claim)
            let text = OutgoingText(
                session: claim.sessionName, chatId: claim.chatId, text: claim.content, messageId: claim.reservedMessageId)
            result = .success(try await withGatewaySlot { try await gateway.sendText(text) })
        } catch let failure as GatewayFailure {
            result = .failure(failure)
        } catch {
            result = .failure(.ambiguous(reason: "Unexpected gateway error: \(error)"))
        }
        lanes.recordSend(for: claim.sessionName)  // the next send waits the gap after this one ended
        switch result {
        case .success(let receipt):
            health.recordSuccess()
            // Stored only where something else was stored: a session never heard of stays unheard of,
            // so a burst over a thousand sessions is not a thousand writes.
            if let stored = claim.storedSessionStatus, stored != SessionStatus.working.rawValue {
                await noteStatus(.working, of: claim.sessionName)
            }
            let messageId = receipt.messageId ?? claim.reservedGatewayId  // an empty 201 names no id
            await record(claim, .sent(gatewayMessageId: messageId), outcome: .sent, started: sendStarted,
                         reason: nil, attempted: true)
            metrics.sent()
            let late = sendStarted.timeIntervalSince(claim.scheduledAt) - pacing
            metrics.lateness.record(.milliseconds(Int64(max(0, late) * 1000)))
        case .failure(let failure):
            await handle(failure, claim: claim, sendStarted: sendStarted, deadline: deadline)
        }
    }

    /// Before a message's first send, reserves its id at the gateway (NOWEB, GOWS) and stores it with
    /// the claim, so that every later question "did it go out?" is a lookup by id, crash or not.
    private func reserveMessageId(_ claim: ClaimedMessage) async throws -> ClaimedMessage {
        guard claim.reservedMessageId == nil, lanes.takesReservedIds(claim.sessionName) else { return claim }
        let session = claim.sessionName
        guard let messageId = try await withGatewaySlot({ try await gateway.reserveMessageId(session: session) }) else {
            lanes.noteNoReservedIds(session)
            return claim
        }
        guard try await reservations.submit(MessageIdReservation(claim, messageId)) else {
            throw GatewayFailure.notDelivered(reason: "The claim was recovered by another process before sending")
        }
        return claim.reserving(messageId)
    }

    /// Runs one gateway request within the `maxInFlight` bound. Held for the request only: storing a
    /// reserved id between the two requests of a send does not keep a slot from other sends.
    private func withGatewaySlot<T: Sendable>(_ request: () async throws -> T) async throws -> T {
        await inFlight.acquire()
        do {
            let value = try await request()
            inFlight.release()
            return value
        } catch {
            inFlight.release()
            throw error
        }
    }

    private func handle(_ failure: GatewayFailure, claim: ClaimedMessage, sendStarted: Date, deadline: Date) async {
        var decision = policy.afterFailure(
            failure, session: claim.sessionName, attemptsBefore: claim.attemptCount, possiblyDeliveredBefore: false,
            now: clock.now(), deadline: deadline, jitter: random.unit())
        if case .sessionNotReady(let status?, _) = failure { await noteStatus(status, of: claim.sessionName) }
        if case .sessionNotReady(let status, _) = failure, case .wait(let until, let reason) = decision {
            lanes.markNotReady(
                claim.sessionName, reason: reason, for: .milliseconds(Int64(configuration.sessionRecheck * 1000)))
            if let note = await restartIfStuck(claim.sessionName, status: status) {
                decision = .wait(until: until, reason: reason + "; " + note)
            }
        }
        if case .rejected(_, let reason, true) = failure { health.recordCredentialsRefused(reason) }
        await apply(decision, claim, started: sendStarted, attempted: true)
    }

    /// Stores what a send learnt of a session's status when it differs from what was stored, so that
    /// pages show a number that stopped working (and working again) without asking the gateway.
    private func noteStatus(_ status: SessionStatus, of session: String) async {
        let changed = knownStatus.withLock { known in
            defer { known[session] = status }
            return known[session] != status
        }
        guard changed else { return }
        do {
            try await store.recordSessionStatus(name: session, status: status.rawValue)
        } catch {
            knownStatus.withLock { $0[session] = nil }
            logger.warning("Could not store a session's status", metadata: ["session": "\(session)", "error": "\(error)"])
        }
    }

    /// A session that is STOPPED (WAHA's 404 "not started") or FAILED is started or restarted, at most
    /// once per `sessionRestartInterval`. Returns what was done, for the audit trail.
    private func restartIfStuck(_ session: String, status: SessionStatus?) async -> String? {
        guard status == .stopped || status == .failed,
            lanes.claimRestart(session, now: clock.now(), interval: configuration.sessionRestartInterval)
        else { return nil }
        let verb = status == .failed ? "restart" : "start"
        do {
            let after = status == .failed ? try await gateway.restartSession(session) : try await gateway.startSession(session)
            logger.notice("Asked the gateway to \(verb) a session", metadata: ["session": "\(session)", "status": "\(after)"])
            return "Crier asked the gateway to \(verb) the session (now \(after.rawValue))"
        } catch {
            return "Crier asked the gateway to \(verb) the session, which failed: \(error)"
        }
    }

    /// Waits the session's pacing gap; returns how long it waited, in seconds.
    private func paceSend(_ session: String) async -> TimeInterval {
        let range = configuration.sendGap
        guard range.upperBound > 0 else { return 0 }
        let gap = range.lowerBound + (range.upperBound - range.lowerBound) * random.unit()
        let wait = lanes.pacingWait(for: session, gap: .milliseconds(Int64(gap * 1000)))
        guard wait > .zero else { return 0 }
        metrics.pacingDelay.record(wait)
        try? await Task.sleep(for: wait)
        let (seconds, attoseconds) = wait.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Asks the gateway whether a possibly-delivered send went out: by its reserved id where the engine
    /// took one, else by its text among the session's recent messages to the chat. Returns whether to go
    /// on sending.
    private func reconcile(_ claim: ClaimedMessage, started: Date, deadline: Date) async -> Bool {
        do {
            let match: GatewayMessage?
            if let reserved = claim.reservedMessageId {
                match = try await gateway.sentMessage(session: claim.sessionName, chatId: claim.chatId, rawId: reserved)
            } else {
                let since = (claim.sendStartedAt ?? claim.scheduledAt).addingTimeInterval(-configuration.reconcileSlack)
                let history = try await gateway.recentMessagesFromMe(
                    session: claim.sessionName, chatId: claim.chatId, since: since)
                match = history.first { $0.body == claim.content }
            }
            guard let match else { return true }
            let messageId = match.id ?? claim.reservedGatewayId
            await record(claim, .sent(gatewayMessageId: messageId), outcome: .reconciled, started: started,
                         reason: "Found at the gateway after an uncertain send; not sent again")
            metrics.sent()
            return false
        } catch GatewayFailure.sessionNotReady(let status, let reason) {
            let text = "Session \(claim.sessionName) is \(status?.rawValue ?? "not WORKING"): \(reason)"
            await apply(
                policy.waitForSession(reason: text, possiblyDelivered: true, now: clock.now(), deadline: deadline),
                claim, started: started)
            return false
        } catch {
            let why = (error as? GatewayFailure)?.reason ?? "\(error)"
            let reason = "Delivery unknown: the gateway could not say whether an uncertain send went out (\(why))"
            await apply(.fail(reason: reason, metric: .deliveryUnknown, gatewayStatus: nil), claim, started: started)
            return false
        }
    }

    /// Records a policy decision, with its audit line and metric.
    private func apply(
        _ decision: DispatchPolicy.Decision, _ claim: ClaimedMessage, started: Date, attempted: Bool = false
    ) async {
        switch decision {
        case .retry(let at, let reason, let possiblyDelivered, let metric):
            await record(
                claim,
                .retry(at: at, reason: reason, needsReconcile: possiblyDelivered,
                       sendStartedAt: possiblyDelivered ? started : nil),
                outcome: possiblyDelivered ? .ambiguous : .retry, started: started, reason: reason, attempted: attempted)
            metrics.retried(metric)
        case .wait(let until, let reason):
            await record(claim, .wait(until: until, reason: reason), outcome: .waiting, started: started, reason: reason)
        case .fail(let reason, let metric, let status):
            await record(claim, .failed(reason: reason), outcome: .failed, started: started, reason: reason,
                         gatewayStatus: status, attempted: attempted)
            metrics.failed(metric)
        case .miss(let reason, let metric):
            await record(claim, .missed(reason: reason), outcome: .missed, started: started, reason: reason,
                         attempted: attempted)
            metrics.missed(metric)
        }
    }

    private func record(
        _ claim: ClaimedMessage, _ outcome: SendOutcome, outcome name: AttemptOutcome, started: Date, reason: String?,
        gatewayStatus: Int? = nil, attempted: Bool = false
    ) async {
        let log = AttemptLog(
            startedAt: started, finishedAt: clock.now(), outcome: name, gatewayStatus: gatewayStatus, reason: reason,
            attempted: attempted)
        do {
            let applied = try await outcomes.submit(OutcomeRecord(claim, outcome, log: log))
            activity.note(owner: claim.ownerId)
            if !applied {
                logger.warning("Outcome ignored: the claim was recovered by another process",
                               metadata: ["message": "\(claim.id)", "outcome": "\(name)"])
            }
        } catch {
            // Left to the lease: no longer renewed, it runs out and whoever recovers the claim reconciles it.
            unrecorded.withLock { $0[claim.id] = clock.now() }
            logger.error("Could not record outcome; the claim will be recovered and reconciled",
                         metadata: ["message": "\(claim.id)", "error": "\(error)"])
        }
    }

}

extension ClaimedMessage {
    /// The reserved raw id as a gateway id, for when the gateway's answer names none.
    var reservedGatewayId: GatewayMessageId? { reservedMessageId.map { GatewayMessageId(full: $0, raw: $0) } }
}
