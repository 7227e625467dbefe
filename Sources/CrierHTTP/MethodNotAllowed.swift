import Hummingbird

/// Turns the router's "no route" into 405 with `Allow` when the path exists for other methods: a
/// client that used the wrong verb learns which ones work instead of being told the path is unknown.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Each route as its method and path segments (`:id` matches any one segment).
    let routes: [(method: HTTPRequest.Method, segments: [Substring])]

    init(routes: [Router<Context>.RouteDescription]) {
        self.routes = routes.map { ($0.method, $0.path.description.split(separator: "/")) }
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path.split(separator: "/")
            let allowed = routes.filter { route in
                route.segments.count == path.count
                    && zip(route.segments, path).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
            }.map(\.method.rawValue)
            guard !allowed.isEmpty else { throw error }
            let methods = Set(allowed).sorted().joined(separator: ", ")
            throw APIError(
                status: .methodNotAllowed, code: "method_not_allowed",
                message: "\(request.method.rawValue) is not allowed here; use \(methods)",
                headers: [.allow: methods])
        }
    }
}
