import CrierService
import Hummingbird

/// Finds the caller from `Authorization: Bearer <token>`; answers 401 without one.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = CrierRequestContext
    let accounts: AccountService

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("Missing API token: send Authorization: Bearer <token>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
            let user = try await accounts.user(forToken: String(parts[1]).trimmed(of: .whitespaces))
        else {
            throw APIError.unauthorized("Invalid API token")
        }
        var context = context
        context.user = user
        return try await next(request, context)
    }
}
