import CrierGateway
import CrierService
import Foundation
import Hummingbird

/// Health probes and the API description; no authentication.
struct OperationsController<Context: RequestContext> {
    let storage: StorageHealth
    let gateway: any Gateway
    let health: GatewayHealth
    let renderMetrics: @Sendable () -> String

    func addRoutes(to router: Router<Context>) {
        router.get("health/live") { _, _ in JSONValue.response(.object(["status": .string("ok")])) }
        router.get("health/ready", use: ready)
        router.get("openapi.yaml", use: openAPI)
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: renderMetrics())))
        }
    }

    /// 200 when the database takes a write (and met no failure lately) and the gateway answers (and
    /// accepts our credentials), else 503 naming what failed.
    @Sendable func ready(_ request: Request, context: Context) async throws -> Response {
        let database = await storage.check()
        var gatewayCheck = await Self.check { try await gateway.checkHealth() }
        if gatewayCheck == nil, health.credentialsRefused != nil { gatewayCheck = "credentials refused" }
        let ok = database == nil && gatewayCheck == nil
        let body: JSONValue = .object([
            "status": .string(ok ? "ready" : "unavailable"),
            "checks": .object([
                "database": .string(database ?? "ok"),
                "gateway": .string(gatewayCheck.map { "\(gateway.kind): \($0)" } ?? "\(gateway.kind): ok"),
            ]),
        ])
        return JSONValue.response(body, status: ok ? .ok : .serviceUnavailable)
    }

    @Sendable func openAPI(_ request: Request, context: Context) async throws -> Response {
        Response(
            // text/plain so that a browser shows it instead of downloading it; tools read YAML either way.
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try OpenAPIDocument.data())))
    }

    private static func check(_ probe: () async throws -> Void) async -> String? {
        do {
            try await probe()
            return nil
        } catch let failure as GatewayFailure {
            if case .rejected(_, _, true) = failure { return "credentials refused" }
            return "unreachable"
        } catch {
            return "failing"
        }
    }
}

/// The OpenAPI description shipped with the server (`openapi.yaml`).
public enum OpenAPIDocument {
    public static func data() throws -> Data {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw APIError(status: .notFound, code: "not_found", message: "openapi.yaml is not bundled")
        }
        return try Data(contentsOf: url)
    }
}
