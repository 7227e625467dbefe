import CrierCore
import CrierGateway
import CrierStorage
import CrierTestSupport
import Foundation
import Testing

/// One test per outcome path of DESIGN §5, against the WAHA double.
@Suite("Dispatcher outcomes")
struct OutcomeTests {
    @Test("success: sent once, at its time, with the gateway's id and an audit line")
    func success() async throws {
        try await DispatchHarness.with { h in
            let id = try await h.schedule()
            await h.dispatcher.dispatchDue()
            #expect(h.double.recorded.isEmpty, "nothing before its time")

            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            await h.dispatcher.dispatchDue()
            await h.dispatcher.dispatchDue()
            let message = try await h.message(id)
            #expect(message.status == .sent)
            #expect(message.sentAt?.iso == "2030-01-01T09:00:00Z")
            #expect(h.double.recorded.map(\.text) == ["0 days left"])
            #expect(h.double.recorded.first?.chatId == "120363025@g.us")
            #expect(try await h.internals(message.id).gatewayMessageId == h.double.recorded.first?.id)
            #expect(message.attempts.map(\.outcome.rawValue) == ["sent"])
            #expect(try await h.store.campaign(id: id, ownerId: h.user.id)?.status == .completed)
            #expect(h.metricsText().contains("crier_messages_sent_total 1"))
        }
    }

    @Test("session not WORKING (422): waits without burning an attempt, then sends when it recovers")
    func sessionNotWorkingThenRecovery() async throws {
        try await DispatchHarness.with({ $0.sessionRecheck = 0.2 }) { h in
            let id = try await h.schedule()
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            h.double.setSessionStatus("s1", .scanQRCode)
            await h.dispatcher.dispatchDue()
            var message = try await h.message(id)
            #expect(message.status == .pending)
            #expect(message.attemptCount == 0)
            #expect(message.attempts.last?.outcome == .waiting)
            #expect(message.attempts.last?.reason?.contains("SCAN_QR_CODE") == true)

            h.double.setSessionStatus("s1", .working)
            h.clock.advance(by: 1)
            try await Task.sleep(for: .milliseconds(300))  // the lane's memory of the 422 lapses in real time
            await h.dispatcher.dispatchDue()
            message = try await h.message(id)
            #expect(message.status == .sent)
            #expect(message.attemptCount == 1, "only the successful send counted")
            #expect(h.double.recorded.count == 1)
        }
    }

    struct AmbiguousRow: Sendable, CustomTestStringConvertible {
        let name: String
        let wentOut: Bool
        var fault: WAHADouble.SendFault {
            switch name {
            case "5xx": .serverError(recorded: wentOut)
            case "timeout": .timeout(recorded: wentOut)
            default: .resetConnection(recorded: wentOut)
            }
        }
        var testDescription: String { "\(name), \(wentOut ? "did go out" : "did not go out")" }
    }

    @Test("ambiguous failure: reconciled as sent when it went out (no second copy), else resent exactly once",
          arguments: ["5xx", "timeout", "connection reset"].flatMap { name in
              [AmbiguousRow(name: name, wentOut: true), AmbiguousRow(name: name, wentOut: false)]
          })
    func ambiguous(_ row: AmbiguousRow) async throws {
        try await DispatchHarness.with { h in
            h.double.setHang(.seconds(2))
            let id = try await h.schedule()
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            h.double.failNextSends([row.fault])
            await h.dispatcher.dispatchDue()
            var message = try await h.message(id)
            #expect(message.status == .pending)
            #expect(try await h.internals(message.id).needsReconcile)

            h.clock.advance(by: 40)  // the question is asked only once the uncertain send can no longer complete
            await h.dispatcher.dispatchDue()
            message = try await h.message(id)
            #expect(message.status == .sent)
            #expect(h.double.recorded.count == 1)
            #expect(h.double.sendRequests == (row.wentOut ? 1 : 2))
            #expect(message.attempts.map(\.outcome.rawValue) == ["ambiguous", row.wentOut ? "reconciled" : "sent"])
            #expect(try await h.internals(message.id).gatewayMessageId == h.double.recorded.first?.id)
        }
    }

    @Test("ambiguous failure the gateway cannot check: failed with 'delivery unknown', never resent blindly")
    func deliveryUnknown() async throws {
        try await DispatchHarness.with { h in
            let id = try await h.schedule()
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            h.double.failNextSends([.serverError(recorded: false)])
            h.double.setMessageListFails(true)
            h.double.setEngine(.webjs)  // no reserved ids: reconciliation reads the message list
            await h.dispatcher.dispatchDue()
            h.clock.advance(by: 40)
            await h.dispatcher.dispatchDue()
            let message = try await h.message(id)
            #expect(message.status == .failed)
            #expect(message.failedReason?.hasPrefix("Delivery unknown") == true)
            #expect(h.double.sendRequests == 1)
            #expect(h.metricsText().contains(#"crier_messages_failed_total{reason="delivery_unknown"} 1"#))
        }
    }

    @Test("permanent 4xx: failed at once with the gateway's reason")
    func permanentRejection() async throws {
        try await DispatchHarness.with { h in
            let id = try await h.schedule()
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            h.double.failNextSends([.status(400, message: "chatId is not valid")])
            await h.dispatcher.dispatchDue()
            let message = try await h.message(id)
            #expect(message.status == .failed)
            #expect(message.failedReason == "WAHA 400: chatId is not valid")
            #expect(message.attempts.first?.gatewayStatus == 400)
            #expect(h.health.credentialsRefused == nil)
            #expect(try await h.store.campaign(id: id, ownerId: h.user.id)?.status == .failed)
        }
    }

    @Test("401: failed and the gateway marked unhealthy until a send succeeds")
    func unauthorized() async throws {
        try await DispatchHarness.with { h in
            let first = try await h.schedule()
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            h.double.requireAPIKey("another key")
            await h.dispatcher.dispatchDue()
            #expect(try await h.message(first).status == .failed)
            #expect(h.health.credentialsRefused?.contains("401") == true)

            h.double.requireAPIKey("key")
            try await h.schedule(session: "s2", time: "09:30")
            h.clock.set(Date(iso: "2030-01-01T09:30:00Z"))
            await h.dispatcher.dispatchDue()
            #expect(h.health.credentialsRefused == nil)
        }
    }

    @Test("connection refused: retried with backoff, attempts bounded, then failed")
    func retriesThenGivesUp() async throws {
        let port = try await WAHADouble.withRunning { $0.port }
        try await DispatchHarness.with(gateway: { _ in
            WAHAClient(baseURL: "http://127.0.0.1:\(port)", apiKey: nil, sendTimeout: .seconds(2))
        }, { $0.maxAttempts = 3 }) { h in
            let id = try await h.schedule()
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            var nextAttempts: [Double] = []
            for _ in 0..<3 {
                await h.dispatcher.dispatchDue()
                let message = try await h.message(id)
                nextAttempts.append((try await h.internals(message.id).nextAttemptAt.timeIntervalSince1970 * 1000).rounded())
                h.clock.advance(by: 300)
            }
            let message = try await h.message(id)
            #expect(message.status == .failed)
            #expect(message.failedReason?.hasPrefix("Gave up after 3 attempts: WAHA at http://127.0.0.1:\(port) is unreachable: connection refused") == true)
            #expect(message.attempts.map(\.outcome.rawValue) == ["retry", "retry", "failed"])
            // Backoff doubles: 5 s then 10 s after each attempt, at the fixed jitter midpoint (×0.75).
            let start = Date(iso: "2030-01-01T09:00:00Z").timeIntervalSince1970 * 1000
            #expect(nextAttempts.prefix(2).map { $0 - start } == [3750, 300_000 + 7500])
            #expect(h.metricsText().contains(#"crier_messages_retried_total{reason="gateway_unreachable"} 2"#))
        }
    }

    @Test("grace window: a message still due goes out late, once; one past the window is missed with the reason")
    func graceWindow() async throws {
        try await DispatchHarness.with { h in
            let late = try await h.schedule(session: "s1", time: "09:00")
            let missed = try await h.schedule(session: "s2", time: "08:30")
            h.clock.set(Date(iso: "2030-01-01T09:45:00Z"))  // the server "was down" since 08:00
            await h.dispatcher.dispatchDue()
            let sent = try await h.message(late)
            #expect(sent.status == .sent)
            #expect(sent.sentAt?.iso == "2030-01-01T09:45:00Z")
            let gone = try await h.message(missed)
            #expect(gone.status == .missed)
            #expect(gone.failedReason == "Not sent within the 1h grace window: the server was not running or not dispatching at the scheduled time")
            #expect(h.double.recorded.count == 1)
            #expect(try await h.store.campaign(id: missed, ownerId: h.user.id)?.status == .failed)
            #expect(h.metricsText().contains(#"crier_messages_missed_total{reason="grace_expired"} 1"#))
        }
    }

    @Test("a session that stays down: its message is missed when the window closes, with the session's status")
    func sessionDownUntilMissed() async throws {
        try await DispatchHarness.with { h in
            let id = try await h.schedule()
            h.double.setSessionStatus("s1", .failed)
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            await h.dispatcher.dispatchDue()
            h.clock.set(Date(iso: "2030-01-01T10:00:01Z"))
            await h.dispatcher.dispatchDue()
            let message = try await h.message(id)
            #expect(message.status == .missed)
            #expect(message.failedReason?.contains("Session s1 is FAILED") == true)
            #expect(message.attemptCount == 0)
        }
    }

    @Test("WAHA finishes a send after the client gave up: found by its reserved id (NOWEB, GOWS) or its text (WEBJS), never sent twice",
          arguments: [WAHADouble.Engine.gows, .noweb, .webjs])
    func completesAfterTimeout(_ engine: WAHADouble.Engine) async throws {
        try await DispatchHarness.with { h in
            h.double.setEngine(engine)
            h.double.addSession("s1", status: .working, config: ["noweb": ["store": ["enabled": true, "fullSync": false]]])
            h.double.setHang(.milliseconds(1500))  // the client gives up after 1 s; WAHA sends at 1.5 s
            h.double.failNextSends([.completesAfterTimeout])
            let id = try await h.schedule()
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            await h.dispatcher.dispatchDue()
            var message = try await h.message(id)
            #expect(message.status == .pending && message.attempts.map(\.outcome) == [.ambiguous])
            let reserved = try await h.internals(message.id).reservedMessageId
            #expect((reserved != nil) == (engine != .webjs), "ids are reserved where the engine takes them")

            h.clock.advance(by: 10)
            await h.dispatcher.dispatchDue()
            #expect(try await h.message(id).status == .pending, "not asked while the send could still complete")

            try await Task.sleep(for: .milliseconds(800))  // WAHA completes the send
            h.clock.advance(by: 30)
            await h.dispatcher.dispatchDue()
            message = try await h.message(id)
            #expect(message.status == .sent)
            #expect(message.attempts.map(\.outcome) == [.ambiguous, .reconciled])
            #expect(h.double.recorded.count == 1 && h.double.sendRequests == 1, "one copy, one request")
            if let reserved { #expect(h.double.recorded.first?.id.hasSuffix("_" + reserved) == true, "the send carried it") }
        }
    }

    @Test("a STOPPED session (WAHA's 404 'start it first'): waits without burning an attempt, is started, then sends")
    func stoppedSessionIsStarted() async throws {
        try await DispatchHarness.with({ $0.sessionRecheck = 0.2 }) { h in
            h.double.setUnknownSessionStatus(nil)
            h.double.addSession("s1", status: .stopped)
            let id = try await h.schedule()
            h.clock.set(Date(iso: "2030-01-01T09:00:00Z"))
            await h.dispatcher.dispatchDue()
            var message = try await h.message(id)
            #expect(message.status == .pending && message.attemptCount == 0)
            let reason = message.attempts.last?.reason ?? ""
            #expect(reason.contains("Please start it first"), "\(reason)")
            #expect(reason.contains("Crier asked the gateway to start the session"), "\(reason)")
            #expect(h.double.requests.contains { $0.method == "POST" && $0.path == "/api/sessions/s1/start" })

            h.clock.advance(by: 1)
            try await Task.sleep(for: .milliseconds(300))
            await h.dispatcher.dispatchDue()
            message = try await h.message(id)
            #expect(message.status == .sent)
            #expect(h.double.recorded.count == 1)
        }
    }
}
