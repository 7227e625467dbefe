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

    /// `{"id","name","status"}`; status is `null` when the gateway could not be asked.
    static func json(_ view: SessionView) -> JSONValue {
        .object([
            "id": .string(view.session.id), "name": .string(view.session.name),
            "status": .string(view.status?.rawValue),
        ])
    }
}
