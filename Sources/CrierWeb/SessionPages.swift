import CrierCore
import CrierGateway
import CrierService
import CrierStorage
import Foundation
import Hummingbird

/// Connecting WhatsApp numbers: create a gateway session, pair it by QR code until it is WORKING,
/// see whether receipts and history are on, restart, log out.
struct SessionPages {
    let dashboard: Dashboard
    var sessions: SessionService { dashboard.sessions }

    func addRoutes(to router: RouterGroup<WebContext>) {
        router.get("sessions", use: list)
        router.post("sessions", use: connect)
        router.get("sessions/:sessionId", use: show)
        router.get("sessions/:sessionId/qr", use: qrCode)
        router.get("sessions/:sessionId/status", use: status)
        router.post("sessions/:sessionId/:action", use: act)
    }

    @Sendable func list(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let views = try await sessions.sessions(for: user)
        return dashboard.page(
            "sessions", title: "WhatsApp numbers", context: context,
            ["sessions": views.map(SessionRow.init), "isEmpty": views.isEmpty])
    }

    @Sendable func connect(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await WebForm.read(request, context: context)
        let name = form.text("name") ?? ""
        do {
            let (view, _) = try await sessions.register(name: name, for: user)
            return PageRenderer.redirect(to: "/sessions/\(view.session.id)")
        } catch let error as CampaignValidationError {
            return try await listWithError(name: name, message: error.message, status: .badRequest, user: user, context: context)
        } catch let error as DomainError {
            return try await listWithError(name: name, message: error.message, status: .conflict, user: user, context: context)
        }
    }

    private func listWithError(
        name: String, message: String, status: HTTPResponse.Status, user: User, context: WebContext
    ) async throws -> Response {
        let views = try await sessions.sessions(for: user)
        return dashboard.page(
            "sessions", title: "WhatsApp numbers", context: context, status: status,
            ["sessions": views.map(SessionRow.init), "isEmpty": views.isEmpty, "name": name, "errors": ["name": message]])
    }

    @Sendable func show(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let view = try await sessions.session(id: context.parameters.require("sessionId"), for: user)
        return dashboard.page(
            "session", title: view.session.name, context: context, notice: Notices.text(request),
            ["session": SessionRow(view)])
    }

    /// The QR code to pair a phone, straight from the gateway.
    @Sendable func qrCode(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let png = try await sessions.qrCode(id: context.parameters.require("sessionId"), for: user)
        return Response(
            status: .ok, headers: [.contentType: "image/png", .cacheControl: "no-store", .xContentTypeOptions: "nosniff"],
            body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }

    /// The session's status for the page's script, which refreshes the QR code until WORKING.
    @Sendable func status(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let row = SessionRow(try await sessions.session(id: context.parameters.require("sessionId"), for: user))
        let data = try JSONSerialization.data(withJSONObject: [
            "status": row.status, "statusText": row.statusText, "needsQR": row.needsQR, "working": row.working,
        ])
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    @Sendable func act(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        _ = try await WebForm.read(request, context: context)
        let id = try context.parameters.require("sessionId")
        let notice: String
        switch context.parameters.get("action") {
        case "restart":
            _ = try await sessions.restart(id: id, for: user)
            notice = "session-restarted"
        case "logout":
            _ = try await sessions.logout(id: id, for: user)
            notice = "session-logged-out"
        case "configure":
            _ = try await sessions.configure(id: id, for: user)
            notice = "session-restarted"
        default:
            throw WebError.notFound("No such action.")
        }
        return PageRenderer.redirect(to: "/sessions/\(id)?notice=\(notice)")
    }
}

/// A session as the pages show it, with what the organiser should do next.
struct SessionRow {
    let id: String
    let name: String
    let status: String
    let statusText: String
    let statusClass: String
    let needsQR: Bool
    let working: Bool
    let receipts: String
    let history: String
    let warnings: [String]
    let hasWarnings: Bool

    init(_ view: SessionView) {
        id = view.session.id
        name = view.session.name
        status = view.status?.rawValue ?? "UNKNOWN"
        statusText = SessionRow.describe(view.status)
        statusClass = status.lowercased()
        needsQR = view.status == .scanQRCode
        working = view.status == .working
        receipts = SessionRow.onOff(view.receiptsEnabled)
        history = SessionRow.onOff(view.historyEnabled)
        warnings = view.warnings
        hasWarnings = !view.warnings.isEmpty
    }

    static func onOff(_ value: Bool?) -> String {
        switch value {
        case true?: "on"
        case false?: "off"
        case nil: "unknown"
        }
    }

    static func describe(_ status: SessionStatus?) -> String {
        switch status {
        case .working?: "Connected: messages can be sent."
        case .scanQRCode?: "Waiting for the phone: scan the QR code with WhatsApp (Linked devices)."
        case .starting?: "Starting…"
        case .stopped?: "Stopped. Restart it to send."
        case .failed?: "Failed at the gateway. Restart it, or log out and pair again."
        case .passkeyRequired?, .passkeyConfirmationRequired?: "The phone asks for a passkey: confirm it on the phone."
        case nil: "The gateway did not answer."
        }
    }
}
