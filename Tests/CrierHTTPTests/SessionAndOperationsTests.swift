import CrierCore
import CrierGateway
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Testing
import Yams

@testable import CrierHTTP
@testable import CrierServer

@Suite("Sessions API")
struct SessionAPITests {
    @Test("register, re-register, list and show a session; names are per server")
    func sessions() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let created = try await api.call(.post, "/api/sessions", json: ["name": "shop_2"])
            #expect(created.status == .created)
            #expect(created.json["name"]?.string == "shop_2")
            #expect(created.json["status"]?.string == "WORKING", "the console gateway is always working")
            let id = try #require(created.json["id"]?.string)

            let again = try await api.call(.post, "/api/sessions", json: ["name": "shop_2"])
            #expect(again.status == .ok)
            #expect(again.json["id"]?.string == id)

            let taken = try await api.call(.post, "/api/sessions", as: .bob, json: ["name": "shop_2"])
            #expect(taken.status == .conflict)
            #expect(taken.code == "session_name_taken")

            let list = try await api.call(.get, "/api/sessions").json.array ?? []
            #expect(list.compactMap { $0["name"]?.string } == [APIHarness.adaSession, "shop_2"])
            #expect(try await api.call(.get, "/api/sessions/\(id)").json["name"]?.string == "shop_2")
            #expect(try await api.call(.get, "/api/sessions/\(id)", as: .bob).status == .notFound)
            #expect(try await api.call(.get, "/api/sessions", as: .bob).json.array?.count == 1)

            let campaign = try await api.createCampaign { $0["sessionId"] = id }
            #expect(try await api.call(.get, "/api/campaigns/\(campaign)").json["sessionId"]?.string == id)
        }
    }

    @Test("session names follow the gateway's rule", arguments: [
        "", "has space", "ünïcode", String(repeating: "a", count: 55), "semi;colon",
    ])
    func badNames(_ name: String) async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let response = try await api.call(.post, "/api/sessions", json: ["name": name])
            #expect(response.status == .badRequest)
            #expect(response.field == "name")
        }
    }

    @Test func missingNameIsA400() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let response = try await api.call(.post, "/api/sessions", json: [:])
            #expect(response.status == .badRequest)
            #expect(response.error == "name is required")
        }
    }
}

@Suite("Operations endpoints and the OpenAPI description")
struct OperationsTests {
    @Test("health endpoints answer without a token")
    func health() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let live = try await api.call(.get, "/health/live", as: .anonymous)
            #expect(live.status == .ok)
            let ready = try await api.call(.get, "/health/ready", as: .anonymous)
            #expect(ready.status == .ok)
            #expect(ready.json["checks"]?["database"]?.string == "ok")
        }
    }

    @Test("an unknown route is a JSON 404")
    func unknownRoute() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let response = try await api.call(.get, "/api/nothing-here")
            #expect(response.status == .notFound)
            #expect(response.code == "not_found")
        }
    }

    @Test("/openapi.yaml serves the bundled description")
    func servesSpec() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        try await harness.run { api in
            let response = try await api.client.execute(uri: "/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            #expect(Data(response.body.readableBytesView) == (try OpenAPIDocument.data()))
        }
    }

    @Test("every route is in openapi.yaml and every documented operation is routed")
    func specMatchesRouter() async throws {
        let harness = try await APIHarness.make()
        defer { harness.cleanUp() }
        let store = harness.store
        let router = buildRouter(
            makeComponents(ServerConfiguration(), store: store, clock: SystemWallClock(), logger: Logger(label: "test"))
                .dependencies, dashboard: nil)
        let routed = Set(router.routes.map { route in
            "\(route.method.rawValue) " + route.path.description.split(separator: "/").map { part in
                part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
            }.joined(separator: "/")
        })

        let spec = try #require(try Yams.load(yaml: String(decoding: try OpenAPIDocument.data(), as: UTF8.self)) as? [String: Any])
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        var operationIds: Set<String> = []
        for (path, item) in paths {
            for (method, operation) in item where ["get", "post", "put", "delete", "patch"].contains(method) {
                documented.insert("\(method.uppercased()) " + path.split(separator: "/").joined(separator: "/"))
                if let id = (operation as? [String: Any])?["operationId"] as? String { operationIds.insert(id) }
            }
        }
        #expect(routed == documented)
        #expect(operationIds.isSuperset(of: [
            "createCampaign", "getCampaigns", "getCompletedCampaigns", "getCampaign", "updateCampaign",
            "deleteCampaign", "previewCampaign",
        ]))
    }
}
