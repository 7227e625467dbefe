import CrierGateway
import CrierService
import Hummingbird

/// `/api/sessions`: WhatsApp sessions registered by the caller.
struct SessionController {
    typealias Context = CrierRequestContext
    let sessions: SessionService

    func addRoutes(to group: RouterGroup<Context>) {
        group.get(use: list)
        group.post(use: register)
        group.get(":id", use: show)
        group.get(":id/qr", use: qr)
        group.post(":id/restart", use: restart)
        group.post(":id/logout", use: logout)
        group.post(":id/configure", use: configure)
        group.get(":id/groups", use: groups)
        group.get(":id/contacts", use: contacts)
    }

    @Sendable func qr(_ request: Request, context: Context) async throws -> Response {
        let png = try await sessions.qrCode(id: try context.parameters.require("id"), for: try context.requireUser())
        return Response(
            status: .ok, headers: [.contentType: "image/png", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: png)))
    }

    @Sendable func restart(_ request: Request, context: Context) async throws -> Response {
        JSONValue.response(Self.json(
            try await sessions.restart(id: try context.parameters.require("id"), for: try context.requireUser())))
    }

    @Sendable func logout(_ request: Request, context: Context) async throws -> Response {
        JSONValue.response(Self.json(
            try await sessions.logout(id: try context.parameters.require("id"), for: try context.requireUser())))
    }

    @Sendable func configure(_ request: Request, context: Context) async throws -> Response {
        JSONValue.response(Self.json(
            try await sessions.configure(id: try context.parameters.require("id"), for: try context.requireUser())))
    }

    @Sendable func groups(_ request: Request, context: Context) async throws -> Response {
        Self.chats(try await sessions.groups(id: try context.parameters.require("id"), for: try context.requireUser()))
    }

    @Sendable func contacts(_ request: Request, context: Context) async throws -> Response {
        Self.chats(try await sessions.contacts(id: try context.parameters.require("id"), for: try context.requireUser()))
    }

    /// `[{"id","name"}]`: the ids are what a campaign's `groupId` takes.
    static func chats(_ chats: [ChatSummary]) -> Response {
        JSONValue.response(.array(chats.map { .object(["id": .string($0.id), "name": .string($0.name)]) }))
    }

    @Sendable func register(_ request: Request, context: Context) async throws -> Response {
        let body = try await JSONObjectReader.read(request, context: context, allowed: ["name"])
        guard let name = try body.string("name") else { throw APIError.invalid("name is required", field: "name") }
        let (view, created) = try await sessions.register(name: name, for: try context.requireUser())
        return JSONValue.response(Self.json(view), status: created ? .created : .ok)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        JSONValue.response(.array(try await sessions.sessions(for: try context.requireUser()).map(Self.json)))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let view = try await sessions.session(id: try context.parameters.require("id"), for: try context.requireUser())
        return JSONValue.response(Self.json(view))
    }

    /// `{"id","name","status","receipts","history","warnings"}`; status and the flags are `null` when the
    /// gateway could not be asked.
    static func json(_ view: SessionView) -> JSONValue {
        .object([
            "id": .string(view.session.id), "name": .string(view.session.name),
            "status": .string(view.status?.rawValue),
            "receipts": view.receiptsEnabled.map(JSONValue.bool) ?? .null,
            "history": view.historyEnabled.map(JSONValue.bool) ?? .null,
            "warnings": .array(view.warnings.map(JSONValue.string)),
            "phoneNumber": view.phoneNumber.map(JSONValue.string) ?? .null,
            "pushName": view.pushName.map(JSONValue.string) ?? .null,
        ])
    }
}
