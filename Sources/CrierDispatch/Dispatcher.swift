import CrierCore
import CrierGateway
import CrierStorage
import Foundation
import Logging
import ServiceLifecycle

/// Sends due messages, once, on time, and records how each attempt ended (DESIGN §5).
///
/// Each pass recovers dead processes' claims, marks messages past their grace window `missed`, and
/// claims due messages with a lease into per-session lanes. Outcomes are recorded with the claim's
/// fencing token, so a claim that was recovered by another process cannot be overwritten.
public final class Dispatcher: Service, Sendable {
    let store: any DispatchStore
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

    public init(
        store: any DispatchStore, gateway: any Gateway, clock: any WallClock, configuration: DispatcherConfiguration,
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
    }

    /// Runs until graceful shutdown: then stops claiming, lets in-flight sends finish (bounded), and
    /// releases the claims it never started.
    public func run() async throws {
        logger.info("Dispatcher started", metadata: ["owner": "\(owner)", "gateway": "\(gateway.kind)"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.renewLeases() }
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let saturated = await self.pass { session in group.addTask { await self.runLane(session) } }
                    await self.waitForWork(saturated: saturated)
                }
                let unstarted = await lanes.drain()
                do {
                    try await store.releaseClaims(unstarted, owner: owner)
                } catch {
                    logger.error("Could not release claims; they will be recovered", metadata: ["error": "\(error)"])
                }
                let deadline = ContinuousClock.now + configuration.shutdownTimeout
                while await !lanes.isIdle, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.wakeUp.signal()
        }
        logger.info("Dispatcher stopped")
    }

    /// One pass over what is due now, waiting for every send it starts. `run()` does the same without
    /// waiting; tests call this to step the dispatcher deterministically.
    public func dispatchDue() async {
        await withDiscardingTaskGroup { group in
            _ = await pass { session in group.addTask { await self.runLane(session) } }
        }
    }

    // MARK: The loop

    /// Recovers, marks missed, claims what is due. Returns whether it stopped claiming because it holds
    /// as many claims as it may (due messages may be left for the next pass), or because claiming failed.
    private func pass(startLane: (String) -> Void) async -> Bool {
        let now = clock.now()
        do {
            let recovered = try await store.recoverExpiredClaims(now: now)
            if recovered > 0 {
                metrics.recovered(recovered)
                logger.warning("Recovered expired claims", metadata: ["count": "\(recovered)"])
            }
            let missed = try await store.markMissed(
                scheduledBefore: now.addingTimeInterval(-configuration.grace),
                reason: "Not sent within the \(Self.describe(configuration.grace)) grace window: ", now: now)
            if missed > 0 { metrics.missed(.graceExpired, count: missed) }
            while true {
                let room = configuration.maxHeldClaims - (await lanes.held)
                guard room > 0 else { return true }
                let limit = min(configuration.claimBatchSize, room)
                let claimedAt = clock.now()
                let claims = try await store.claimDueMessages(
                    now: claimedAt, limit: limit, owner: owner,
                    leaseUntil: claimedAt.addingTimeInterval(configuration.leaseDuration))
                for session in await lanes.enqueue(claims) { startLane(session) }
                if claims.count < limit { return false }
            }
        } catch {
            logger.error("Dispatch pass failed; retrying shortly", metadata: ["error": "\(error)"])
            return true
        }
    }

    /// Sleeps until the earliest pending message is due, a campaign changes, or the re-check floor.
    /// When the last pass could not claim everything due, it waits a moment for lanes to make room
    /// rather than spinning on the database.
    private func waitForWork(saturated: Bool) async {
        var timeout = configuration.recheckInterval
        if saturated {
            timeout = min(timeout, 0.05)
        } else if let next = try? await store.nextDueAt() {
            timeout = min(timeout, max(0, next.timeIntervalSince(clock.now())))
        }
        guard timeout > 0 else { return }
        await wakeUp.wait(timeout: .milliseconds(Int64(timeout * 1000)))
    }

    private func renewLeases() async {
        let interval = Duration.milliseconds(Int64(configuration.leaseDuration * 1000 / 3))
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { return }
            do {
                try await store.renewClaims(owner: owner, until: clock.now().addingTimeInterval(configuration.leaseDuration))
            } catch {
                logger.error("Could not renew claims", metadata: ["error": "\(error)"])
            }
        }
    }

    private func runLane(_ session: String) async {
        while let claim = await lanes.next(for: session) {
            await process(claim)
            await lanes.finished()
        }
    }

    // MARK: One message

    private func process(_ claim: ClaimedMessage) async {
        let started = clock.now()
        let deadline = claim.scheduledAt.addingTimeInterval(configuration.grace)
        if claim.needsReconcile {
            guard await reconcile(claim, started: started, deadline: deadline) else { return }
        }
        if claim.attemptCount >= configuration.maxAttempts {
            let reason = "Gave up after \(claim.attemptCount) attempts: \(claim.lastError ?? "no details")"
            await record(claim, .failed(reason: reason), outcome: "failed", started: started, reason: reason)
            metrics.failed(.attemptsExhausted)
            return
        }
        if let notReady = await lanes.notReadyReason(claim.sessionName) {
            await waitForSession(claim, reason: notReady, started: started, deadline: deadline)
            return
        }
        let pacing = await paceSend(claim.sessionName)
        let sendStarted = clock.now()
        if sendStarted > deadline {  // checked after pacing, so no send starts past the window
            let reason = "Not sent within the \(Self.describe(configuration.grace)) grace window: "
                + (claim.lastError ?? "the server could not dispatch it in time")
            await record(claim, .missed(reason: reason), outcome: "missed", started: started, reason: reason)
            metrics.missed(.graceExpired)
            return
        }
        await inFlight.acquire()
        let result: Result<SendReceipt, GatewayFailure>
        do {
            result = .success(
                try await gateway.sendText(OutgoingText(session: claim.sessionName, chatId: claim.chatId, text: claim.content)))
        } catch let failure as GatewayFailure {
            result = .failure(failure)
        } catch {
            result = .failure(.ambiguous(reason: "Unexpected gateway error: \(error)"))
        }
        await inFlight.release()
        await lanes.recordSend(for: claim.sessionName)  // the next send waits the gap after this one ended
        switch result {
        case .success(let receipt):
            health.recordSuccess()
            await record(claim, .sent(gatewayMessageId: receipt.messageId), outcome: "sent", started: sendStarted,
                         reason: nil, attempted: true)
            metrics.sent()
            let late = sendStarted.timeIntervalSince(claim.scheduledAt) - pacing
            metrics.lateness.record(.milliseconds(Int64(max(0, late) * 1000)))
        case .failure(let failure):
            await handle(failure, claim: claim, sendStarted: sendStarted, deadline: deadline)
        }
    }

    /// Waits the session's pacing gap; returns how long it waited, in seconds.
    private func paceSend(_ session: String) async -> TimeInterval {
        let range = configuration.sendGap
        guard range.upperBound > 0 else { return 0 }
        let gap = range.lowerBound + (range.upperBound - range.lowerBound) * random.unit()
        let wait = await lanes.pacingWait(for: session, gap: .milliseconds(Int64(gap * 1000)))
        guard wait > .zero else { return 0 }
        metrics.pacingDelay.record(wait)
        try? await Task.sleep(for: wait)
        let (seconds, attoseconds) = wait.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    private func handle(_ failure: GatewayFailure, claim: ClaimedMessage, sendStarted: Date, deadline: Date) async {
        switch failure {
        case .sessionNotReady(let status, let reason):
            let text = "Session \(claim.sessionName) is \(status?.rawValue ?? "not WORKING"): \(reason)"
            await lanes.markNotReady(
                claim.sessionName, reason: text, for: .milliseconds(Int64(configuration.sessionRecheck * 1000)))
            await waitForSession(claim, reason: text, started: sendStarted, deadline: deadline)
        case .notDelivered(let reason):
            await retry(claim, reason: reason, label: .gatewayUnreachable, possiblyDelivered: false,
                        sendStarted: sendStarted, deadline: deadline)
        case .ambiguous(let reason):
            await retry(claim, reason: reason, label: .possiblyDelivered, possiblyDelivered: true,
                        sendStarted: sendStarted, deadline: deadline)
        case .rejected(let status, let reason, let credentialsRefused):
            if credentialsRefused { health.recordCredentialsRefused(reason) }
            await record(claim, .failed(reason: reason), outcome: "failed", started: sendStarted, reason: reason,
                         gatewayStatus: status, attempted: true)
            metrics.failed(credentialsRefused ? .credentialsRefused : .gatewayRejected)
        case .unsupported(let reason):
            await record(claim, .failed(reason: reason), outcome: "failed", started: sendStarted, reason: reason,
                         attempted: true)
            metrics.failed(.gatewayRejected)
        }
    }

    /// Asks the gateway whether a possibly-delivered send went out. Returns whether to go on sending.
    private func reconcile(_ claim: ClaimedMessage, started: Date, deadline: Date) async -> Bool {
        let since = (claim.sendStartedAt ?? claim.scheduledAt).addingTimeInterval(-configuration.reconcileSlack)
        do {
            let history = try await gateway.recentMessagesFromMe(
                session: claim.sessionName, chatId: claim.chatId, since: since)
            if let match = history.first(where: { $0.body == claim.content }) {
                await record(claim, .sent(gatewayMessageId: match.id), outcome: "reconciled", started: started,
                             reason: "Found at the gateway after an uncertain send; not sent again")
                metrics.sent()
                return false
            }
            return true
        } catch GatewayFailure.sessionNotReady(let status, let reason) where started <= deadline {
            await waitForSession(
                claim, reason: "Session \(claim.sessionName) is \(status?.rawValue ?? "not WORKING"): \(reason)",
                started: started, deadline: deadline)
            return false
        } catch {
            let reason = "Delivery unknown: the gateway could not say whether an uncertain send went out (\(error))"
            await record(claim, .failed(reason: reason), outcome: "failed", started: started, reason: reason)
            metrics.failed(.deliveryUnknown)
            return false
        }
    }

    private func waitForSession(_ claim: ClaimedMessage, reason: String, started: Date, deadline: Date) async {
        let until = clock.now().addingTimeInterval(configuration.sessionRecheck)
        if until > deadline && !claim.needsReconcile {
            let text = "Not sent within the \(Self.describe(configuration.grace)) grace window: \(reason)"
            await record(claim, .missed(reason: text), outcome: "missed", started: started, reason: text)
            metrics.missed(.sessionNotWorking)
        } else {
            await record(claim, .wait(until: until, reason: reason), outcome: "waiting", started: started, reason: reason)
        }
    }

    private func retry(
        _ claim: ClaimedMessage, reason: String, label: RetriedReason, possiblyDelivered: Bool, sendStarted: Date,
        deadline: Date
    ) async {
        let attempts = claim.attemptCount + 1
        let now = clock.now()
        if attempts >= configuration.maxAttempts && !possiblyDelivered {
            let text = "Gave up after \(attempts) attempts: \(reason)"
            await record(claim, .failed(reason: text), outcome: "failed", started: sendStarted, reason: text, attempted: true)
            metrics.failed(.attemptsExhausted)
            return
        }
        var next = now.addingTimeInterval(backoff(afterAttempt: attempts))
        if possiblyDelivered {
            // Always look again before the window closes: the message may be out.
            next = min(next, max(deadline, now.addingTimeInterval(1)))
        } else if next > deadline {
            let text = "Not sent within the \(Self.describe(configuration.grace)) grace window: \(reason)"
            await record(claim, .missed(reason: text), outcome: "missed", started: sendStarted, reason: text, attempted: true)
            metrics.missed(.gatewayUnreachable)  // only a send that certainly did not go out gets here
            return
        }
        await record(
            claim, .retry(at: next, reason: reason, needsReconcile: possiblyDelivered,
                          sendStartedAt: possiblyDelivered ? sendStarted : nil),
            outcome: possiblyDelivered ? "ambiguous" : "retry", started: sendStarted, reason: reason, attempted: true)
        metrics.retried(label)
    }

    /// Exponential backoff with jitter: half of `base × 2^(n−1)` (capped) fixed, half random.
    func backoff(afterAttempt attempt: Int) -> TimeInterval {
        let exponential = min(configuration.backoffCap, configuration.backoffBase * pow(2, Double(max(0, attempt - 1))))
        return exponential * (0.5 + 0.5 * random.unit())
    }

    private func record(
        _ claim: ClaimedMessage, _ outcome: SendOutcome, outcome name: String, started: Date, reason: String?,
        gatewayStatus: Int? = nil, attempted: Bool = false
    ) async {
        let log = AttemptLog(
            startedAt: started, finishedAt: clock.now(), outcome: name, gatewayStatus: gatewayStatus, reason: reason,
            attempted: attempted)
        do {
            let applied = try await store.recordOutcome(claim, outcome, log: log)
            if !applied {
                logger.warning("Outcome ignored: the claim was recovered by another process",
                               metadata: ["message": "\(claim.id)", "outcome": "\(name)"])
            }
        } catch {
            // The lease will expire and the claim will be reconciled by whoever recovers it.
            logger.error("Could not record outcome", metadata: ["message": "\(claim.id)", "error": "\(error)"])
        }
    }

    static func describe(_ interval: TimeInterval) -> String {
        if interval >= 3600, interval.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(interval / 3600))h" }
        if interval >= 60, interval.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(interval / 60))m" }
        return "\(Int(interval))s"
    }
}
