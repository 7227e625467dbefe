import CrierCore
import Hummingbird

/// Why a dashboard request could not be served; rendered as an HTML page with the right status.
enum WebError: Error, Sendable {
    case signInRequired
    case forbidden(String)
    case notFound(String)
    case badRequest(String)
    /// The form's CSRF token is missing or does not match the browser's cookie.
    case csrfRejected
    case tooManyAttempts(retryAfterSeconds: Int)

    var status: HTTPResponse.Status {
        switch self {
        case .signInRequired: .unauthorized
        case .forbidden, .csrfRejected: .forbidden
        case .notFound: .notFound
        case .badRequest: .badRequest
        case .tooManyAttempts: .tooManyRequests
        }
    }

    var message: String {
        switch self {
        case .signInRequired: "Please sign in."
        case .forbidden(let message), .notFound(let message), .badRequest(let message): message
        case .csrfRejected:
            "This form has expired or did not come from this site. Go back, reload the page and try again."
        case .tooManyAttempts(let seconds):
            "Too many failed sign-ins. Try again in \(max(1, (seconds + 59) / 60)) minute(s)."
        }
    }
}
