import Foundation
import CrierHTTP
import Hummingbird

/// Turns any error on a dashboard page into an HTML page with the right status (the JSON API keeps
/// its JSON errors); a page that needs a sign-in sends the browser to the sign-in page instead.
struct WebErrorMiddleware: RouterMiddleware {
    typealias Context = WebContext
    let dashboard: Dashboard

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch WebError.signInRequired {
            // After signing in, a form that was being sent comes back (its script offers what was typed).
            let next = request.method == .get || Self.isFormPage(request.uri.path) ? request.uri.path : "/"
            return PageRenderer.redirect(to: "/login?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"))
        } catch let error as WebError {
            return errorPage(status: error.status, message: error.message, context: context)
        } catch {
            let apiError = APIError.from(error, storage: dashboard.storage)
            apiError.log(error, path: request.uri.path, logger: context.logger)
            return errorPage(status: apiError.status, message: apiError.message, context: context)
        }
    }

    /// Form pages whose address is the same for showing and sending.
    static func isFormPage(_ path: String) -> Bool {
        path == "/campaigns/new" || (path.hasPrefix("/campaigns/") && (path.hasSuffix("/edit") || path.hasSuffix("/upcoming")))
            || path == "/settings"
    }

    private func errorPage(status: HTTPResponse.Status, message: String, context: Context) -> Response {
        dashboard.page(
            "error", title: status.reasonPhrase, context: context, status: status,
            ["status": Int(status.code), "reason": status.reasonPhrase, "message": message])
    }
}
