import CrierHTTP
import Foundation
import OpenAPIKit
import Testing
import Yams

/// Checks HTTP exchanges against the served `openapi.yaml`: OpenAPIKit parses the document and resolves
/// its references; `SchemaCheck` checks JSON instances against the resolved schemas.
///
/// Every exchange the HTTP tests make goes through `check`: each response must be one the spec
/// documents for that operation and status, with a body its schema accepts; each request body the
/// server accepted (2xx) must be one the spec accepts too. So the spec can never promise more, or
/// less, than the server does.
enum SpecConformance {
    // Parsed once and only read afterwards (OpenAPIKit's types are not marked Sendable).
    nonisolated(unsafe) static let document: Result<DereferencedDocument, any Error> = Result {
        let yaml = String(decoding: try OpenAPIDocument.data(), as: UTF8.self)
        return try YAMLDecoder().decode(OpenAPI.Document.self, from: yaml).locallyDereferenced()
    }

    /// Problems with one exchange; empty when it conforms.
    static func check(
        method: String, path: String, requestBody: Data?, status: Int, responseContentType: String?, responseBody: Data
    ) -> [String] {
        let document: DereferencedDocument
        switch Self.document {
        case .success(let parsed): document = parsed
        case .failure(let error): return ["openapi.yaml does not parse: \(error)"]
        }
        let label = "\(method) \(path) → \(status)"
        guard let (route, operation) = operation(in: document, method: method, path: path) else {
            // 404 and 405 answer paths and methods the spec has no operation for.
            return [404, 405].contains(status) ? [] : ["\(label): no operation in openapi.yaml"]
        }
        var problems: [String] = []
        guard let response = operation.responses[status: .status(code: status)] ?? operation.responses[status: .default]
        else {
            return ["\(label): status \(status) is not documented for \(route)"]
        }
        let contentType = responseContentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        if !response.content.isEmpty {
            let documented = response.content.first { $0.key.typeAndSubtype == contentType }
            if let documented {
                if contentType == "application/json", let schema = documented.value.schema {
                    problems += SchemaCheck.problems(json: responseBody, schema: schema, at: "\(label) response")
                }
            } else {
                problems.append("\(label): content type \(contentType ?? "none") is not documented")
            }
        }
        if (200..<300).contains(status), let requestBody, !requestBody.isEmpty,
            let schema = operation.requestBody?.content.first(where: { $0.key.typeAndSubtype == "application/json" })?
                .value.schema
        {
            problems += SchemaCheck.problems(json: requestBody, schema: schema, at: "\(label) request (accepted)")
        }
        return problems
    }

    /// The operation for a concrete path: literal segments win over `{parameters}`.
    static func operation(
        in document: DereferencedDocument, method: String, path: String
    ) -> (String, DereferencedOperation)? {
        let segments = path.split(separator: "?").first.map { $0.split(separator: "/") } ?? []
        let candidates = document.paths.compactMap { entry -> (String, DereferencedOperation, Int)? in
            let pattern = entry.key.components
            guard pattern.count == segments.count,
                zip(pattern, segments).allSatisfy({ $0.hasPrefix("{") || $0 == $1 }),
                let verb = OpenAPI.HttpMethod(rawValue: method.uppercased()), let operation = entry.value[verb]
            else { return nil }
            return (entry.key.rawValue, operation, pattern.filter { $0.hasPrefix("{") }.count)
        }
        return candidates.min { $0.2 < $1.2 }.map { ($0.0, $0.1) }
    }

    /// Records every problem of an exchange as a test issue.
    static func record(
        method: String, path: String, requestBody: Data?, status: Int, responseContentType: String?, responseBody: Data
    ) {
        for problem in check(
            method: method, path: path, requestBody: requestBody, status: status,
            responseContentType: responseContentType, responseBody: responseBody)
        {
            Issue.record(Comment(rawValue: "openapi.yaml: \(problem)"))
        }
    }
}

/// JSON Schema (2020-12, as OpenAPI 3.1 uses it) checks of a JSON instance, for the keywords our spec
/// uses: types and null, enum/const, required, properties, additionalProperties, items, allOf/oneOf/
/// anyOf/not, string length, pattern and date formats, numeric bounds.
enum SchemaCheck {
    static func problems(json: Data, schema: DereferencedJSONSchema, at place: String) -> [String] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: json) else {
            return ["\(place): body is not JSON"]
        }
        return problems(value, schema, "\(place) $")
    }

    static func problems(_ value: JSONValue, _ schema: DereferencedJSONSchema, _ at: String) -> [String] {
        if value == .null && schema.nullable { return [] }
        if let allowed = schema.allowedValues {
            let values = allowed.compactMap { try? JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode($0)) }
            if !values.contains(value) { return ["\(at): \(value) is not one of \(values)"] }
        }
        switch schema {
        case .null:
            return value == .null ? [] : ["\(at): expected null, got \(value)"]
        case .boolean:
            if case .bool = value { return [] }
            return ["\(at): expected a boolean, got \(value)"]
        case .integer(_, let context):
            guard let number = number(value), number.rounded() == number else { return ["\(at): expected an integer, got \(value)"] }
            var found: [String] = []
            if let minimum = context.minimum, number < Double(minimum.value) { found.append("\(at): \(number) < \(minimum.value)") }
            if let maximum = context.maximum, number > Double(maximum.value) { found.append("\(at): \(number) > \(maximum.value)") }
            return found
        case .number:
            return number(value) == nil ? ["\(at): expected a number, got \(value)"] : []
        case .string(let core, let context):
            guard case .string(let text) = value else { return ["\(at): expected a string, got \(value)"] }
            var found: [String] = []
            if text.count < context.minLength { found.append("\(at): shorter than \(context.minLength)") }
            if let maxLength = context.maxLength, text.count > maxLength { found.append("\(at): longer than \(maxLength)") }
            if let pattern = context.pattern, text.range(of: pattern, options: .regularExpression) == nil {
                found.append("\(at): '\(text)' does not match \(pattern)")
            }
            switch core.format.rawValue {
            case "date-time": if (try? Date(text, strategy: .iso8601)) == nil { found.append("\(at): '\(text)' is not a date-time") }
            case "date": if text.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) == nil { found.append("\(at): '\(text)' is not a date") }
            default: break
            }
            return found
        case .object(_, let context):
            guard case .object(let object) = value else { return ["\(at): expected an object, got \(value)"] }
            var found = context.requiredProperties.filter { object[$0] == nil }.map { "\(at): missing required \($0)" }
            for (key, item) in object {
                if let property = context.properties[key] {
                    found += problems(item, property, "\(at).\(key)")
                } else {
                    switch context.additionalProperties {
                    case .a(false): found.append("\(at): property \(key) is not allowed")
                    case .b(let extra): found += problems(item, extra, "\(at).\(key)")
                    default: break
                    }
                }
            }
            return found
        case .array(_, let context):
            guard case .array(let items) = value else { return ["\(at): expected an array, got \(value)"] }
            guard let itemSchema = context.items else { return [] }
            return items.enumerated().flatMap { problems($0.element, itemSchema, "\(at)[\($0.offset)]") }
        case .all(let schemas, _):
            return schemas.flatMap { problems(value, $0, at) }
        case .one(let schemas, _):
            let passing = schemas.filter { problems(value, $0, at).isEmpty }.count
            return passing == 1 ? [] : ["\(at): matches \(passing) of oneOf's schemas, not exactly one"]
        case .any(let schemas, _):
            return schemas.contains { problems(value, $0, at).isEmpty } ? [] : ["\(at): matches none of anyOf's schemas"]
        case .not(let schema, _):
            return problems(value, schema, at).isEmpty ? ["\(at): matches a schema it must not"] : []
        case .fragment:
            return []
        }
    }

    private static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let number): Double(number)
        case .number(let number): number
        default: nil
        }
    }
}

@Suite("openapi.yaml")
struct SpecDocumentTests {
    @Test("parses as OpenAPI 3.1 and passes OpenAPIKit's own validation")
    func validDocument() throws {
        let yaml = String(decoding: try OpenAPIDocument.data(), as: UTF8.self)
        let document = try YAMLDecoder().decode(OpenAPI.Document.self, from: yaml)
        try document.validate()
        _ = try SpecConformance.document.get()
    }

    @Test("the schema check catches what it should (it can fail)")
    func checkerCatches() throws {
        let document = try SpecConformance.document.get()
        let (_, create) = try #require(SpecConformance.operation(in: document, method: "POST", path: "/api/campaigns"))
        let schema = try #require(create.requestBody?.content.first?.value.schema)
        let valid = Data(#"{"groupId":"1@g.us","groupName":"G","sessionId":"s","startDate":"2030-01-01","endDate":"2030-01-02","messageTime":"09:00","messageTemplate":"x","isRecurring":false}"#.utf8)
        #expect(SchemaCheck.problems(json: valid, schema: schema, at: "create") == [])
        let unknown = Data(#"{"groupId":"1@g.us","groupName":"G","sessionId":"s","startDate":"2030-01-01","endDate":"2030-01-02","messageTime":"09:00","messageTemplate":"x","isRecurring":false,"colour":"red"}"#.utf8)
        #expect(SchemaCheck.problems(json: unknown, schema: schema, at: "create") == ["create $: property colour is not allowed"])
        let missing = Data(#"{"groupName":"G"}"#.utf8)
        #expect(!SchemaCheck.problems(json: missing, schema: schema, at: "create").isEmpty)
        let (_, show) = try #require(SpecConformance.operation(in: document, method: "GET", path: "/api/campaigns/completed"))
        #expect(show.operationId == "getCompletedCampaigns", "a literal segment wins over {id}")
    }
}
