import CrierCore
import HTTPTypes
import Hummingbird

/// Behind a trusted reverse proxy, the client is the address the proxy forwarded for, not the proxy.
///
/// `X-Forwarded-For` lists every hop, the nearest last; it is read from the right, skipping the
/// trusted proxies, and the first address that is not one is the client. Anything before it was
/// written by the client itself and is not believed. From any other peer the header is ignored.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = CrierRequestContext
    let trustedProxies: [IPNetwork]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard !trustedProxies.isEmpty, let peer = context.remoteAddress.flatMap(IPAddress.init), isTrusted(peer),
            let client = forwardedClient(request.headers[values: .xForwardedFor])
        else { return try await next(request, context) }
        var context = context
        context.clientAddress = client.description
        return try await next(request, context)
    }

    private func isTrusted(_ address: IPAddress) -> Bool { trustedProxies.contains { $0.contains(address) } }

    private func forwardedClient(_ values: [String]) -> IPAddress? {
        let hops = values.flatMap { $0.split(separator: ",") }.suffix(32)
        var nearest: IPAddress?
        for hop in hops.reversed() {
            guard let address = IPAddress(String(hop)) else { return nearest }
            nearest = address
            if !isTrusted(address) { return address }
        }
        return nearest
    }
}

extension HTTPField.Name {
    /// The hops a request came through, nearest last (de-facto standard; no RFC).
    public static let xForwardedFor = Self("X-Forwarded-For")!
}
