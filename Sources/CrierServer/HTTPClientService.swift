import AsyncHTTPClient
import CrierGateway
import ServiceLifecycle

/// Owns the HTTP client the WAHA gateway uses: sized so `--max-in-flight` requests really can be open
/// at once (AsyncHTTPClient's default is 8 connections per host), and shut down after the services
/// listed after it.
struct HTTPClientService: Service {
    let client: HTTPClient

    init(maxConnections: Int) {
        client = WAHAClient.makeHTTPClient(maxConnections: maxConnections)
    }

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
