import CrierHTTP
import CrierTestSupport
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
        guard let (route, operation) = OpenAPIOperations.find(in: document, method: method, path: path) else {
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
        let (_, create) = try #require(OpenAPIOperations.find(in: document, method: "POST", path: "/api/campaigns"))
        let schema = try #require(create.requestBody?.content.first?.value.schema)
        let valid = Data(#"{"groupId":"1@g.us","groupName":"G","sessionId":"s","startDate":"2030-01-01","endDate":"2030-01-02","messageTime":"09:00","messageTemplate":"x","isRecurring":false}"#.utf8)
        #expect(SchemaCheck.problems(json: valid, schema: schema, at: "create") == [])
        let unknown = Data(#"{"groupId":"1@g.us","groupName":"G","sessionId":"s","startDate":"2030-01-01","endDate":"2030-01-02","messageTime":"09:00","messageTemplate":"x","isRecurring":false,"colour":"red"}"#.utf8)
        #expect(SchemaCheck.problems(json: unknown, schema: schema, at: "create") == ["create $: property colour is not allowed"])
        let number = Data(#"{"groupId":"1@g.us","groupName":"G","sessionId":"s","startDate":"2030-01-01","endDate":"2030-01-02","messageTime":"09:00","messageTemplate":"x","isRecurring":1,"recurrence":"daily"}"#.utf8)
        #expect(SchemaCheck.problems(json: number, schema: schema, at: "create") == [
            "create $.isRecurring: expected a boolean, got 1",
            #"create $.recurrence: "daily" is not one of ["\"DAILY\"", "\"WEEKLY\"", "\"SEMI_MONTHLY\"", "\"MONTHLY\"", "\"SEMI_ANNUALLY\"", "\"ANNUALLY\"", "null"]"#,
        ])
        let missing = Data(#"{"groupName":"G"}"#.utf8)
        #expect(!SchemaCheck.problems(json: missing, schema: schema, at: "create").isEmpty)
        let (_, show) = try #require(OpenAPIOperations.find(in: document, method: "GET", path: "/api/campaigns/completed"))
        #expect(show.operationId == "getCompletedCampaigns", "a literal segment wins over {id}")
    }
}
