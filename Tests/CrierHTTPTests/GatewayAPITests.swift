import CrierGateway
import CrierHTTP
import CrierServer
import CrierTestSupport
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@Suite("Sessions through WAHA, webhooks, metrics")
struct GatewayAPITests {
    static let secret = "webhook-secret"

    @Test("session QR, restart, logout, groups and contacts go through the gateway, scoped to the owner")
    func sessionActions() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await WAHADouble.withRunning { double in
            double.addSession(
                APIHarness.adaSession, status: .scanQRCode, config: ["noweb": ["store": ["enabled": true, "fullSync": false]]])
            double.setEngine(.noweb)
            try await harness.run(configure: { $0.gateway = .waha(url: double.baseURL, apiKey: nil) }) { api in
                let session = APIHarness.adaSession
                let qr = try await api.client.execute(
                    uri: "/api/sessions/\(session)/qr", method: .get, headers: [.authorization: "Bearer \(api.adaToken)"])
                #expect(qr.status == .ok)
                #expect(qr.headers[.contentType] == "image/png")
                #expect(Array(qr.body.readableBytesView.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
                #expect(try await api.call(.get, "/api/sessions/\(session)/qr", as: .bob).status == .notFound)

                let restarted = try await api.call(.post, "/api/sessions/\(session)/restart")
                #expect(restarted.json["status"]?.string == "STARTING")
                double.setSessionStatus(session, .working)
                let noQR = try await api.call(.get, "/api/sessions/\(session)/qr")
                #expect(noQR.status == .conflict)
                #expect(noQR.code == "session_not_ready")

                let groups = try await api.call(.get, "/api/sessions/\(session)/groups")
                #expect(groups.json == .array([.object(["id": .string("120363025@g.us"), "name": .string("Church choir")])]))
                let contacts = try await api.call(.get, "/api/sessions/\(session)/contacts")
                #expect(contacts.json.array?.compactMap { $0["name"]?.string } == ["Mary", "John"])

                let loggedOut = try await api.call(.post, "/api/sessions/\(session)/logout")
                #expect(loggedOut.json["status"]?.string == "SCAN_QR_CODE")

                let created = try await api.call(.post, "/api/sessions", json: ["name": "new-phone"])
                #expect(created.status == .created)
                #expect(created.json["status"]?.string == "WORKING", "created and started at WAHA (a paired phone)")
                let shown = try await api.call(.get, "/api/sessions/new-phone")
                #expect(shown.json["status"]?.string == "WORKING")
                #expect(shown.json["receipts"]?.bool == true && shown.json["history"]?.bool == true)
                #expect(shown.json["warnings"]?.array == [])
            }
        }
    }

    @Test("a session that exists at WAHA is not anyone's to take: tagged owner or admin only")
    func sessionOwnership() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        let admin = try await harness.addUser("root@example.com", isAdmin: true)
        try await WAHADouble.withRunning { double in
            double.setUnknownSessionStatus(nil)
            double.addSession("default", status: .working)  // paired by someone, outside Crier
            try await harness.run(configure: {
                $0.gateway = .waha(url: double.baseURL, apiKey: nil)
                $0.publicURL = "https://crier.example.org"
                $0.webhookSecret = Self.secret
            }) { api in
                let takeover = try await api.call(.post, "/api/sessions", json: ["name": "default"])
                #expect(takeover.status == .forbidden)
                #expect(takeover.code == "session_not_yours")
                #expect(try await api.call(.get, "/api/sessions").json.array?.count == 1, "nothing registered")

                // A new name is created at WAHA with ada's tag and the configuration receipts need.
                #expect(try await api.call(.post, "/api/sessions", json: ["name": "ada-shop"]).status == .created)
                let config = try #require(double.sessionConfig("ada-shop"))
                let adaTag = try #require((config["metadata"] as? [String: Any])?["crier.owner"] as? String)
                let hook = (config["webhooks"] as? [[String: Any]])?.first
                #expect(hook?["url"] as? String == "https://crier.example.org/api/webhooks/waha")
                #expect((hook?["hmac"] as? [String: Any])?["key"] as? String == Self.secret)
                #expect(try await api.call(.post, "/api/sessions", json: ["name": "ada-shop"]).status == .ok, "again: same")
                #expect(try await api.call(.post, "/api/sessions", as: .bob, json: ["name": "ada-shop"]).status == .conflict)

                // A session WAHA has with ada's tag (say, from a restored database) is hers; not bob's.
                double.addSession("ada-old", status: .stopped, metadata: ["crier.owner": adaTag])
                #expect(try await api.call(.post, "/api/sessions", as: .bob, json: ["name": "ada-old"]).status == .forbidden)
                let adopted = try await api.call(.post, "/api/sessions", json: ["name": "ada-old"])
                #expect(adopted.status == .created)
                #expect(adopted.json["status"]?.string == "WORKING", "a stopped session is started")
                #expect(double.requests.contains { $0.path == "/api/sessions/ada-old/start" })

                // An admin may adopt a session created elsewhere.
                let byAdmin = try await api.call(.post, "/api/sessions", as: .token("Bearer \(admin)"), json: ["name": "default"])
                #expect(byAdmin.status == .created)
            }
        }
    }

    @Test("registering while WAHA is down is a 502 and stores nothing")
    func registrationWithGatewayDown() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        let port = try await WAHADouble.withRunning { $0.port }
        try await harness.run(configure: { $0.gateway = .waha(url: "http://127.0.0.1:\(port)", apiKey: nil) }) { api in
            let response = try await api.call(.post, "/api/sessions", json: ["name": "later"])
            #expect(response.status == .badGateway)
            #expect(response.error?.contains("connection refused") == true, "\(response.json)")
            let names = try await api.call(.get, "/api/sessions").json.array?.compactMap { $0["name"]?.string }
            #expect(names == [APIHarness.adaSession])
        }
    }

    @Test("a gateway that is down is a 502, not a 500")
    func gatewayDown() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        let port = try await WAHADouble.withRunning { $0.port }
        try await harness.run(configure: {
            $0.gateway = .waha(url: "http://127.0.0.1:\(port)", apiKey: nil)
            $0.gatewayRequestTimeout = .milliseconds(500)
        }) { api in
            let response = try await api.call(.get, "/api/sessions/\(APIHarness.adaSession)/groups")
            #expect(response.status == .badGateway)
            #expect(response.code == "gateway_error")
            let ready = try await api.call(.get, "/health/ready", as: .anonymous)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.json["checks"]?["gateway"]?.string == "waha: unreachable")
        }
    }

    @Test("readiness reports refused WAHA credentials")
    func readinessWithBadKey() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await WAHADouble.withRunning { double in
            double.requireAPIKey("right")
            try await harness.run(configure: { $0.gateway = .waha(url: double.baseURL, apiKey: "wrong") }) { api in
                let ready = try await api.call(.get, "/health/ready", as: .anonymous)
                #expect(ready.status == .serviceUnavailable)
                #expect(ready.json["checks"]?["gateway"]?.string == "waha: credentials refused")
            }
        }
    }

    static func signed(_ body: String, key: String = secret) -> String {
        HMAC<SHA512>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(key.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    static func postWebhook(_ api: APIClient, _ body: String, signature: String?) async throws -> APIResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let signature { headers[HTTPField.Name("X-Webhook-Hmac")!] = signature }
        let response = try await api.client.execute(
            uri: "/api/webhooks/waha", method: .post, headers: headers, body: ByteBuffer(string: body))
        SpecConformance.record(
            method: "POST", path: "/api/webhooks/waha", requestBody: Data(body.utf8), status: Int(response.status.code),
            responseContentType: response.headers[.contentType], responseBody: Data(response.body.readableBytesView))
        let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body.readableBytesView))) ?? .null
        return APIResponse(status: response.status, headers: response.headers, json: json)
    }

    /// 2026-11-25T10:03:00Z, three minutes after the harness's clock (and the marked send).
    static let threeMinutesLater = "1795600980000"

    static func ackEvent(
        id: String, messageId: String, ack: Int, timestamp: String = threeMinutesLater, session: String = "ada-phone"
    ) -> String {
        #"{"id":"\#(id)","timestamp":\#(timestamp),"event":"message.ack","session":"\#(session)","payload":{"id":"\#(messageId)","ack":\#(ack),"ackName":"X","fromMe":true}}"#
    }

    @Test("webhooks: a bad signature is 401 and records nothing; acks update the right message; duplicates count once")
    func webhooks() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run(configure: { $0.webhookSecret = Self.secret }) { api in
            let campaign = try await api.createCampaign()
            let gatewayId = "true_120363025@g.us_3EB0AAAA1111_254700000000@c.us"
            let messageId = try await harness.markSent(campaignId: campaign, occurrence: 1, gatewayId: gatewayId)
            func message() async throws -> JSONValue? {
                try await api.call(.get, "/api/campaigns/\(campaign)").json["messages"]?.array?
                    .first { $0["id"]?.string == messageId }
            }

            let delivered = Self.ackEvent(id: "evt_1", messageId: gatewayId, ack: 2)
            for signature in [nil, "00ff", Self.signed(delivered, key: "wrong key"), Self.signed(delivered + " ")] {
                let refused = try await Self.postWebhook(api, delivered, signature: signature)
                #expect(refused.status == .unauthorized)
            }
            #expect(try await message()?["deliveredAt"]?.isNull == true, "nothing recorded")

            // Receipts are tied to their session: the same raw id through bob's session changes nothing.
            let otherSession = Self.ackEvent(id: "evt_0", messageId: gatewayId, ack: 2, session: "bob-phone")
            #expect(try await Self.postWebhook(api, otherSession, signature: Self.signed(otherSession)).status == .ok)
            // A receipt dated ten minutes before the send is not believed.
            let early = Self.ackEvent(id: "evt_00", messageId: gatewayId, ack: 2, timestamp: "1795600200000")
            #expect(try await Self.postWebhook(api, early, signature: Self.signed(early)).status == .ok)
            #expect(try await message()?["deliveredAt"]?.isNull == true, "neither receipt applied")

            // Timestamps that are not times, or too old to be a retry, are refused; they used to trap (issue 11).
            for (index, timestamp) in ["1e308", "9.3e18", "-5", "1795428000000"].enumerated() {
                let body = Self.ackEvent(id: "evt_bad\(index)", messageId: gatewayId, ack: 2, timestamp: timestamp)
                let refused = try await Self.postWebhook(api, body, signature: Self.signed(body))
                #expect(refused.status == .badRequest, "\(timestamp)")
            }
            // No time at all, or a boolean for one: refused, never stamped with Crier's own clock (issue 20).
            for (index, timestamp) in ["null", "true"].enumerated() {
                let body = Self.ackEvent(id: "evt_none\(index)", messageId: gatewayId, ack: 3, timestamp: timestamp)
                let refused = try await Self.postWebhook(api, body, signature: Self.signed(body))
                #expect(refused.status == .badRequest && refused.code == "malformed_webhook", "\(timestamp)")
            }
            let untimed = #"{"id":"evt_untimed","event":"message.ack","session":"ada-phone","payload":{"id":"\#(gatewayId)","ack":3}}"#
            let refusedUntimed = try await Self.postWebhook(api, untimed, signature: Self.signed(untimed))
            #expect(refusedUntimed.status == .badRequest && refusedUntimed.error?.contains("timestamp") == true)
            #expect(try await message()?["readAt"]?.isNull == true, "none of them was applied")

            let accepted = try await Self.postWebhook(api, delivered, signature: Self.signed(delivered))
            #expect(accepted.status == .ok)
            #expect(accepted.json["duplicate"]?.bool == false)
            #expect(try await message()?["deliveredAt"]?.string == "2026-11-25T10:03:00Z")
            #expect(try await message()?["readAt"]?.isNull == true)

            // A GOWS-style id for the same message (raw id only) marks it read; replaying the event is a no-op.
            let read = Self.ackEvent(id: "evt_2", messageId: "false_x@c.us_3EB0AAAA1111", ack: 3, timestamp: "1795601040000")
            #expect(try await Self.postWebhook(api, read, signature: Self.signed(read)).status == .ok)
            let replay = try await Self.postWebhook(api, read, signature: Self.signed(read))
            #expect(replay.json["duplicate"]?.bool == true)
            #expect(try await message()?["readAt"]?.string == "2026-11-25T10:04:00Z")
            #expect(try await message()?["deliveredAt"]?.string == "2026-11-25T10:03:00Z", "first delivery kept")

            let others = try await api.call(.get, "/api/campaigns/\(campaign)").json["messages"]?.array?
                .filter { $0["id"]?.string != messageId } ?? []
            #expect(others.allSatisfy { $0["deliveredAt"]?.isNull == true }, "only the acked message changed")

            let malformed = try await Self.postWebhook(api, "[1]", signature: Self.signed("[1]"))
            #expect(malformed.status == .badRequest)
        }
    }

    @Test("webhooks are refused while no secret is configured")
    func webhooksDisabled() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let body = Self.ackEvent(id: "evt_1", messageId: "x", ack: 2)
            let response = try await Self.postWebhook(api, body, signature: Self.signed(body))
            #expect(response.status == .forbidden)
            #expect(response.code == "webhooks_disabled")
        }
    }

    @Test("/metrics serves the Prometheus exposition without a token")
    func metrics() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let response = try await api.client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            for name in [
                "crier_messages_sent_total", "crier_messages_failed_total", "crier_messages_missed_total",
                "crier_messages_retried_total", "crier_claims_recovered_total", "crier_dispatch_lateness_seconds",
            ] {
                #expect(text.contains(name), "\(name)")
            }
            // Each reason only on the counters it applies to.
            let series = Set(text.split(separator: "\n").filter { $0.hasPrefix("crier_messages_") && $0.contains("reason=") }
                .map { $0.split(separator: " ")[0] })
            #expect(series == [
                #"crier_messages_failed_total{reason="gateway_rejected"}"#,
                #"crier_messages_failed_total{reason="credentials_refused"}"#,
                #"crier_messages_failed_total{reason="delivery_unknown"}"#,
                #"crier_messages_failed_total{reason="attempts_exhausted"}"#,
                #"crier_messages_missed_total{reason="grace_expired"}"#,
                #"crier_messages_missed_total{reason="session_not_working"}"#,
                #"crier_messages_missed_total{reason="gateway_unreachable"}"#,
                #"crier_messages_retried_total{reason="gateway_unreachable"}"#,
                #"crier_messages_retried_total{reason="possibly_delivered"}"#,
            ])
        }
    }
}
