import CrierCore
import CrierServer
import CrierTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Inputs that used to crash or bloat the server (issue 11): each answers a clear 4xx naming the field.
@Suite("Hardening: no request can crash or bloat the server")
struct HardeningTests {
    @Test("dates beyond 2199 are a 400 for preview, create and update alike (they used to trap)")
    func farFutureDates() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let id = try await api.createCampaign()
            var body = campaignBody()
            body["startDate"] = "9995-01-01"
            body["endDate"] = "9999-12-31"
            for (method, path) in [(HTTPRequest.Method.post, "/api/campaigns/preview"), (.post, "/api/campaigns")] {
                let response = try await api.call(method, path, json: body)
                #expect(response.status == .badRequest && response.field == "startDate", "\(path)")
            }
            var update = updateBody()
            update["startDate"] = "2026-12-01"
            update["endDate"] = "9999-12-31"
            update["isRecurring"] = true
            update["recurrence"] = "MONTHLY"
            let response = try await api.call(.put, "/api/campaigns/\(id)", json: update)
            #expect(response.status == .badRequest && response.field == "endDate")
            #expect(try await api.call(.get, "/health/live", as: .anonymous).status == .ok, "still alive")
        }
    }

    @Test("a NUL in a chat id is refused, not stored cut at the NUL")
    func controlCharacters() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            var body = campaignBody()
            body["groupId"] = "120363025\u{0}x@g.us"
            let response = try await api.call(.post, "/api/campaigns", json: body)
            #expect(response.status == .badRequest)
            #expect(response.field == "groupId")
            #expect(response.error == "groupId must not contain control characters (found U+0000)")
        }
    }

    @Test("one grapheme of 50,000 combining accents is not 'one character'")
    func combiningFlood() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            var body = campaignBody()
            body["messageTemplate"] = "e" + String(repeating: "\u{301}", count: 50_000)
            let response = try await api.call(.post, "/api/campaigns", json: body)
            #expect(response.status == .badRequest && response.field == "messageTemplate")
        }
    }

    @Test("a key given twice is refused, naming it")
    func duplicateKeys() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let body = #"{"title":"a","groupId":"1@g.us","title":"b"}"#
            let response = try await api.call(.post, "/api/campaigns/preview", body: body)
            #expect(response.status == .badRequest)
            #expect(response.code == "duplicate_field" && response.field == "title")
            let escaped = #"{"sessionId":"x","session\u0049d":"y"}"#
            #expect(try await api.call(.post, "/api/campaigns/preview", body: escaped).field == "sessionId")
            let nested = #"{"a":{"k":1},"b":{"k":2}}"#  // the same key in two objects is fine (then unknown)
            #expect(try await api.call(.post, "/api/campaigns/preview", body: nested).code == "unknown_field")
        }
    }

    /// The duplicate-key scan once copied an object's whole key set at every key: this body cost
    /// 26 s of CPU in a release build. The time limit only stops a hang; the answer takes well
    /// under a second.
    @Test("an object of 90,000 keys is answered at once, its repeated key named", .timeLimit(.minutes(1)))
    func manyKeys() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let keys = (0..<90_000).map { #""k\#($0)":0"# }.joined(separator: ",")
            let repeated = try await api.call(.post, "/api/campaigns", body: "{" + keys + #","k0":1}"#)
            #expect(repeated.status == .badRequest && repeated.code == "duplicate_field" && repeated.field == "k0")
            let distinct = try await api.call(.post, "/api/campaigns", body: "{" + keys + "}")
            #expect(distinct.status == .badRequest && distinct.code == "unknown_field")
        }
    }

    @Test("lists with include=messages are paged small; cursors are opaque campaign ids")
    func boundedLists() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            var ids: [String] = []
            for _ in 0..<12 { ids.append(try await api.createCampaign()) }
            let tooMany = try await api.call(.get, "/api/campaigns?include=messages&limit=11")
            #expect(tooMany.status == .badRequest && tooMany.field == "limit")
            let first = try await api.call(.get, "/api/campaigns?include=messages")
            #expect(first.json.array?.count == 10)
            let cursor = try #require(first.headers[HTTPField.Name("X-Next-Cursor")!])
            #expect(cursor == ids[2], "the cursor is the last campaign's public id, not a row number")
            let second = try await api.call(.get, "/api/campaigns?include=messages&cursor=\(cursor)")
            #expect(second.json.array?.compactMap { $0["id"]?.string } == [ids[1], ids[0]])
            #expect(second.headers[HTTPField.Name("X-Next-Cursor")!] == nil)
            let messageId = first.json[0]?["messages"]?[0]?["id"]?.string ?? ""
            #expect(messageId.count == 24 && Int(messageId) == nil, "message ids are opaque")
            for bad in ["3", "", String(repeating: "x", count: 100)] {
                #expect(try await api.call(.get, "/api/campaigns?cursor=\(bad)").field == "cursor", "\(bad)")
            }
            let bobsView = try await api.call(.get, "/api/campaigns?cursor=\(cursor)", as: .bob)
            #expect(bobsView.status == .badRequest, "another user's campaign id is not a cursor for bob")
        }
    }

    @Test("a known path with the wrong method is 405 with the error JSON")
    func wrongMethod() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let response = try await api.call(.patch, "/api/campaigns")
            #expect(response.status == .methodNotAllowed)
            #expect(response.code == "method_not_allowed")
            #expect(response.headers[.allow] == "GET, POST")
            #expect(try await api.call(.get, "/api/nothing-here").status == .notFound)
        }
    }

    @Test("a malformed chunked body is a 400, not a 500")
    func malformedChunk() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run(.live) { api in
            let connection = try RawConnection(port: try #require(api.client.port))
            connection.send(
                "POST /api/campaigns/preview HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(api.adaToken)\r\n"
                    + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n")
            let reply = await connection.receive(timeout: 20).text
            #expect(reply.hasPrefix("HTTP/1.1 400"), "\(reply)")
            #expect(!reply.contains(" 500 "))
        }
    }

    @Test("Expect: 100-continue is answered before the body is sent")
    func expectContinue() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run(.live) { api in
            let connection = try RawConnection(port: try #require(api.client.port))
            let body = "{\"name\":\"x\"}"
            connection.send(
                "POST /api/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(api.adaToken)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
            let interim = await connection.receive(timeout: 2).text
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue"), "\(interim)")
            connection.send(body)
            let final = await connection.receive(timeout: 20)
            #expect(final.text.hasPrefix("HTTP/1.1 201"), "\(final)")
        }
    }

    @Test("slow clients are cut off: half a header, half a body, idle; health answers meanwhile")
    func slowClients() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run(.live, configure: {
            $0.requestHeadTimeout = .milliseconds(500)
            $0.requestTimeout = .milliseconds(800)
            $0.maxConnections = 50  // fewer than the clients below: the cap and the deadlines together
        }) { api in
            let port = try #require(api.client.port)
            let idle = try RawConnection(port: port)
            let halfHeader = try RawConnection(port: port)
            halfHeader.send("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            let halfBody = try RawConnection(port: port)
            halfBody.send("POST /api/campaigns/preview HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
            let keptAlive = try RawConnection(port: port)
            keptAlive.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            var held: [RawConnection] = []
            for _ in 0..<200 { held.append(try RawConnection(port: port)) }
            let health = try RawConnection(port: port)
            health.send("GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let healthAnswer = await health.receive(timeout: 5)
            #expect(healthAnswer.text.hasPrefix("HTTP/1.1 200"), "health answers beside 200 idle clients, over the cap: \(healthAnswer)")
            for (name, connection) in [("idle", idle), ("half header", halfHeader), ("half body", halfBody)] {
                let started = Date()
                let (_, closed) = await connection.receive(timeout: 5)
                #expect(closed, "\(name) connection is closed by the server")
                #expect(Date().timeIntervalSince(started) < 4, "\(name) cut off by its deadline, not the test's")
            }
            let started = Date()
            let (answer, closed) = await keptAlive.receive(timeout: 5)
            #expect(answer.hasPrefix("HTTP/1.1 200"), "the kept-alive connection is answered")
            #expect(closed && Date().timeIntervalSince(started) < 4, "then closed once idle past its deadline")
            // Accepted 50 at a time (the cap), each closed 0.5 s after: the last wave closes about 2 s in,
            // later on a loaded machine. The test's own bound is only there to end a failing run.
            for connection in held { #expect(await connection.receive(timeout: 5).closed, "idle connections do not stay open") }
        }
    }

    @Test("one client cannot hold the server's connections: per-address cap, a reserve for this machine's health checks")
    func connectionCaps() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run(.live, configure: {
            $0.maxConnections = 40
            $0.reservedLocalConnections = 4
            $0.maxConnectionsPerAddress = 8
            $0.requestHeadTimeout = .seconds(20)
            $0.requestTimeout = .seconds(30)
        }) { api in
            let port = try #require(api.client.port)
            // One client dribbling bodies on 100 connections: 8 are kept, the rest closed at once.
            var dribbling: [RawConnection] = []
            for _ in 0..<100 {
                let connection = try RawConnection(port: port, from: "127.0.0.2")
                connection.send("POST /api/campaigns/preview HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
                dribbling.append(connection)
            }
            var closed = 0
            for connection in dribbling where await connection.receive(timeout: 0.05).closed { closed += 1 }
            #expect(closed >= 90, "closed at once: \(closed) of 100")
            // Many clients take every regular connection; this machine's health check still gets in.
            var crowd: [RawConnection] = []
            for client in 3..<13 {
                for _ in 0..<8 {
                    let connection = try RawConnection(port: port, from: "127.0.0.\(client)")
                    connection.send("POST /api/campaigns/preview HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
                    crowd.append(connection)
                }
            }
            let started = Date()
            let health = try RawConnection(port: port)
            health.send("GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(await health.receive(timeout: 5).text.hasPrefix("HTTP/1.1 200"), "health answers while others hold the rest")
            #expect(Date().timeIntervalSince(started) < 2)
            withExtendedLifetime((dribbling, crowd)) {}
        }
    }

    @Test("head and body share one deadline: a request trickled byte by byte is cut off in time")
    func wholeRequestDeadline() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run(.live, configure: {
            $0.requestHeadTimeout = .seconds(2)
            $0.requestTimeout = .seconds(3)
        }) { api in
            let connection = try RawConnection(port: try #require(api.client.port))
            let started = Date()
            // The head over 1.8 s (inside its own 2 s), then the body a byte at a time.
            for part in ["POST /api/campaigns/preview HTTP/1.1\r\n", "Host: x\r\n", "Content-Length: 100\r\n", "X-Slow: 1\r\n", "\r\n"] {
                connection.send(part)
                try await Task.sleep(for: .milliseconds(450))
            }
            var closedAfter: TimeInterval?
            for _ in 0..<40 where closedAfter == nil {
                connection.send("{")
                if await connection.receive(timeout: 0.2).closed { closedAfter = Date().timeIntervalSince(started) }
            }
            let after = try #require(closedAfter, "the connection is closed")
            #expect(after > 2.5 && after < 4.2, "closed \(after) s after it began: 3 s for head and body together")
        }
    }

    @Test("per-user quota: a create past it is 429 (a count) or 413 (bytes) with a clear error; nothing stored")
    func userQuota() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run(configure: { $0.userQuota = UserQuota(campaigns: 2, messages: 1_000, bytes: 6_000) }) { api in
            _ = try await api.createCampaign()
            _ = try await api.createCampaign()
            let third = try await api.call(.post, "/api/campaigns", json: campaignBody())
            #expect(third.status == .tooManyRequests && third.code == "quota_campaigns", "\(third.json)")
            #expect(third.error?.contains("the most this server allows (2)") == true)
            let bob = try await api.call(.post, "/api/campaigns", as: .bob, json: {
                var body = campaignBody(session: APIHarness.bobSession)
                body["messageTemplate"] = String(repeating: "x", count: 2_100)
                return body
            }())
            #expect(bob.status == .contentTooLarge && bob.code == "quota_bytes", "\(bob.json)")
            let listed = try await api.call(.get, "/api/campaigns", as: .bob)
            #expect(listed.json.array?.isEmpty == true, "the refused create stored nothing")
        }
    }

    @Test("a cursor that is not a campaign id is a 400 naming it", arguments: ["0", "x", "../1", String(repeating: "a", count: 36)])
    func cursorFormat(_ cursor: String) async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let response = try await api.call(.get, "/api/campaigns?cursor=\(cursor)")
            #expect(response.status == .badRequest && response.field == "cursor")
        }
    }
}
