import CrierCore
import CrierGateway
import CrierService
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// An error as the API shows it: `{"error","code","field"?}` with an HTTP status.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let field: String?
    /// Extra response headers (`Allow` on a 405).
    public let headers: HTTPFields

    public init(
        status: HTTPResponse.Status, code: String, message: String, field: String? = nil, headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    static func invalid(_ message: String, field: String?, code: String = "invalid_input") -> APIError {
        APIError(status: .badRequest, code: code, message: message, field: field)
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(status: .unauthorized, code: "unauthorized", message: message)
    }

    /// The database failing: not the caller's fault, worth trying again shortly.
    static func unavailable(_ failure: StoreUnavailable) -> APIError {
        APIError(
            status: .serviceUnavailable, code: "storage_unavailable",
            message: "The database is unavailable (\(failure.reason)); nothing was changed by this request if it failed "
                + "before an answer. Try again shortly.", headers: [.retryAfter: "5"])
    }

    public var body: JSONValue {
        var object: [String: JSONValue] = ["error": .string(message), "code": .string(code)]
        if let field { object["field"] = .string(field) }
        return .object(object)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONValue.response(body, status: status, headers: headers)
    }

    /// The API form of any error: the database failing is a 503 (and noted by `storage` for
    /// readiness), domain errors keep their meaning, anything unexpected is a 500 that reveals
    /// nothing internal.
    public static func from(_ error: any Error, storage: StorageHealth?) -> APIError {
        if let storage, let unavailable = storage.unavailability(of: error) { return .unavailable(unavailable) }
        return from(error)
    }

    /// The API form of an error that is not the database's.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as StoreUnavailable:
            return .unavailable(error)
        case let error as APIError:
            return error
        case let error as CampaignValidationError:
            return .invalid(error.message, field: error.field)
        case let error as DomainError:
            switch error {
            case .notFound(let code, let message): return APIError(status: .notFound, code: code, message: message)
            case .conflict(let code, let message): return APIError(status: .conflict, code: code, message: message)
            case .forbidden(let code, let message): return APIError(status: .forbidden, code: code, message: message)
            case .invalid(let field, let code, let message): return .invalid(message, field: field, code: code)
            case .overQuota(let code, let message, let isSize):
                return APIError(status: isSize ? .contentTooLarge : .tooManyRequests, code: code, message: message)
            }
        case let failure as GatewayFailure:
            return gatewayError(failure)
        case is HTTPParserError:
            // A body the HTTP decoder could not read (a malformed chunk, say): the client's fault.
            return APIError(status: .badRequest, code: "malformed_request", message: "The request body is not valid HTTP")
        case is NIOTooManyBytesError:
            return APIError(status: .contentTooLarge, code: "body_too_large", message: "Request body is too large")
        case let error as HTTPError:
            return APIError(
                status: error.status, code: codeName(error.status),
                message: error.body ?? error.status.reasonPhrase)
        default:
            return APIError(status: .internalServerError, code: "internal_error", message: "Internal server error")
        }
    }

    /// Gateway trouble while serving a request: the gateway's own answer for a session that is not in
    /// the right state, 502 when the gateway failed.
    private static func gatewayError(_ failure: GatewayFailure) -> APIError {
        switch failure {
        case .sessionNotReady(let status, _):
            return APIError(
                status: .conflict, code: "session_not_ready",
                message: "The session is \(status?.rawValue ?? "not in the right state") at the gateway: \(failure.reason)")
        case .unsupported(let reason):
            return APIError(status: .conflict, code: "not_supported", message: reason)
        case .rejected(404, let reason, _):
            return APIError(status: .notFound, code: "gateway_session_not_found", message: reason)
        case .rejected(_, let reason, true):
            return APIError(status: .badGateway, code: "gateway_credentials_refused", message: reason)
        case .rejected(_, let reason, false), .notDelivered(let reason), .ambiguous(let reason),
            .historyUnavailable(let reason):
            return APIError(status: .badGateway, code: "gateway_error", message: reason)
        }
    }

    /// Logs what the operator must see: the unexpected (500) and the database failing (503).
    public func log(_ error: any Error, path: String, logger: Logger) {
        if status == .internalServerError {
            logger.error("Unhandled error", metadata: ["path": "\(path)", "error": "\(String(reflecting: error))"])
        } else if code == "storage_unavailable" {
            logger.error("Database unavailable", metadata: ["path": "\(path)", "error": "\(message)"])
        }
    }

    private static func codeName(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 413: "body_too_large"
        default: status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
        }
    }
}

/// Turns every error into the API's JSON error shape; logs only the unexpected ones. A browser asking
/// for a page outside `/api` (an unknown address, say) gets `htmlPage`'s answer instead, when given.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let storage: StorageHealth
    let htmlPage: (@Sendable (APIError) -> Response)?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError.from(error, storage: storage)
            apiError.log(error, path: request.uri.path, logger: context.logger)
            if let htmlPage, Self.wantsPage(request) {
                var response = htmlPage(apiError)
                response.headers.append(contentsOf: apiError.headers)
                return response
            }
            return JSONValue.response(apiError.body, status: apiError.status, headers: apiError.headers)
        }
    }
}

extension ErrorMiddleware {
    /// A browser navigating (it asks for HTML) to anything but the JSON API.
    static func wantsPage(_ request: Request) -> Bool {
        let path = request.uri.path
        return !(path == "/api" || path.hasPrefix("/api/")) && request.headers[.accept]?.contains("text/html") == true
    }
}
