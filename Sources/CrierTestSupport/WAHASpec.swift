import Foundation
import OpenAPIKit

/// WAHA's published OpenAPI description (`shared/reference/waha-openapi-2026.7.1.json`), against which
/// every request that reaches the WAHA double is checked: the path and method exist, the required query
/// parameters are there and no undeclared ones, and a JSON body matches the operation's schema. So the
/// client is tested against WAHA's contract, not only against the double's reading of it.
public enum WAHASpec {
    /// Where the spec is looked for: `CRIER_WAHA_SPEC`, else `../shared/reference/` beside the checkout.
    public static var location: URL {
        if let path = ProcessInfo.processInfo.environment["CRIER_WAHA_SPEC"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/reference/waha-openapi-2026.7.1.json")
    }

    /// The parsed spec; `nil` (with the reason printed once) when it is not on this machine.
    // Parsed once and only read afterwards (OpenAPIKit's types are not marked Sendable).
    nonisolated(unsafe) static let document: DereferencedDocument? = {
        guard let data = FileManager.default.contents(atPath: location.path) else {
            print("WAHA conformance checks skipped: no WAHA OpenAPI spec at \(location.path)")
            return nil
        }
        do {
            return try JSONDecoder().decode(OpenAPI.Document.self, from: try withErrataCorrected(data)).locallyDereferenced()
        } catch {
            print("WAHA conformance checks skipped: the spec at \(location.path) does not parse: \(error)")
            return nil
        }
    }()

    /// The spec with two errata of WAHA 2026.7.1's published file corrected:
    /// - its `security` requirements name a scheme (`oauth2`) its components do not define (OpenAPIKit
    ///   rightly refuses that); authentication is not what is checked here, so they are dropped;
    /// - `WebhookConfig.events` declares its items as objects, while WAHA's own examples in the same file,
    ///   its docs and its code take event names (strings): they are strings here.
    static func withErrataCorrected(_ data: Data) throws -> Data {
        guard var root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return data }
        root["security"] = nil
        if var components = root["components"] as? [String: Any], var schemas = components["schemas"] as? [String: Any],
            var webhook = schemas["WebhookConfig"] as? [String: Any], var properties = webhook["properties"] as? [String: Any],
            var events = properties["events"] as? [String: Any]
        {
            events["items"] = ["type": "string"]
            properties["events"] = events
            webhook["properties"] = properties
            schemas["WebhookConfig"] = webhook
            components["schemas"] = schemas
            root["components"] = components
        }
        if var paths = root["paths"] as? [String: Any] {
            for (path, item) in paths {
                guard var operations = item as? [String: Any] else { continue }
                for (method, operation) in operations {
                    guard var operation = operation as? [String: Any] else { continue }
                    operation["security"] = nil
                    operations[method] = operation
                }
                paths[path] = operations
            }
            root["paths"] = paths
        }
        return try JSONSerialization.data(withJSONObject: root)
    }

    /// Whether the spec is available here.
    public static var isAvailable: Bool { document != nil }

    /// What is wrong with these requests by WAHA's spec; empty when they conform (or the spec is absent).
    /// Parsing the spec and checking take a while in a debug build, so both run on a thread of their
    /// own: blocking Swift's small cooperative pool would stall the servers other tests are running.
    public static func problems(_ requests: [WAHADouble.LoggedRequest]) async -> [String] {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: Array(Set(requests.flatMap(problems))).sorted()) }.start()
        }
    }

    /// What is wrong with `request` by WAHA's spec; empty when it conforms (or the spec is absent).
    static func problems(_ request: WAHADouble.LoggedRequest) -> [String] {
        guard let document else { return [] }
        let label = "\(request.method) \(request.path)"
        guard let (route, operation) = OpenAPIOperations.find(in: document, method: request.method, path: request.path)
        else { return ["\(label): no such operation in WAHA's spec"] }
        var problems: [String] = []
        let queryParameters = operation.parameters.filter { $0.context.location == .query }
        for parameter in queryParameters where parameter.required && request.query[parameter.name] == nil {
            problems.append("\(label): required query parameter \(parameter.name) is missing (\(route))")
        }
        let declared = Set(queryParameters.map(\.name))
        for name in request.query.keys.sorted() where !declared.contains(name) {
            problems.append("\(label): query parameter \(name) is not in WAHA's spec (\(route))")
        }
        if let body = request.body,
            let schema = operation.requestBody?.content.first(where: { $0.key.typeAndSubtype == "application/json" })?.value
                .schema
        {
            problems += SchemaCheck.problems(json: body, schema: schema, at: "\(label) body")
        }
        return problems
    }
}

/// Requests the WAHA client made that WAHA's spec does not allow.
public struct WAHAConformanceError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String { "Requests that break WAHA's OpenAPI spec:\n" + problems.joined(separator: "\n") }
}
