import CrierCore
import CrierGateway
import CrierService
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
        let values: [String: Any] = ["sessions": views.map(SessionRow.init), "isEmpty": views.isEmpty]
        if request.uri.queryParameters["fragment"] != nil { return dashboard.fragment("session-list", context: context, values) }
        return dashboard.page("sessions", title: "WhatsApp numbers", context: context, values)
    }

    /// Connecting needs no name: one is made up unless the organiser chose one (under "Advanced").
    @Sendable func connect(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await WebForm.read(request, context: context)
        let name = form.text("name") ?? Self.newName()
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

    /// A made-up gateway name: `phone-` and eight random letters and digits (unique enough, never
    /// guessed as anyone's).
    static func newName() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        return "phone-" + String((0..<8).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
    }

    @Sendable func show(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.require("sessionId")
        let view = try await sessions.session(id: id, for: user)
        let row = SessionRow(view)
        let values: [String: Any] = ["session": row, "liveURL": "/sessions/\(id)?fragment=panel"]
        if request.uri.queryParameters["fragment"] != nil { return dashboard.fragment("session-panel", context: context, values) }
        return dashboard.page("session", title: row.title, context: context, notice: Notices.text(request), values)
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
    /// How the organiser knows the number: its WhatsApp name and number once linked, else its name.
    let title: String
    let status: String
    /// The status in a word or two for the badge ("Connected", "Scan the QR code").
    let statusLabel: String
    let statusText: String
    let phoneNumber: String?
    let pushName: String?
    /// Makes the QR code's address new each time the panel is drawn, so the browser fetches it.
    let stamp: Int
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
        phoneNumber = view.phoneNumber
        pushName = view.pushName
        switch (view.pushName, view.phoneNumber) {
        case (let push?, let phone?): title = "\(push) (+\(phone))"
        case (nil, let phone?): title = "+\(phone)"
        default: title = "Number \(view.session.name)"
        }
        status = view.status?.rawValue ?? "UNKNOWN"
        statusLabel = SessionRow.label(view.status)
        statusText = SessionRow.describe(view.status)
        stamp = Int(Date().timeIntervalSince1970)
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

    static func label(_ status: SessionStatus?) -> String {
        switch status {
        case .working?: "Connected"
        case .scanQRCode?: "Scan the QR code"
        case .starting?: "Starting"
        case .stopped?: "Stopped"
        case .failed?: "Failed"
        case .passkeyRequired?, .passkeyConfirmationRequired?: "Confirm on the phone"
        case nil: "Unknown"
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
