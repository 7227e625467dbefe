import Foundation
import OpenAPIKit

/// Finding the operation of an OpenAPI document that a concrete request (method and path) is for.
public enum OpenAPIOperations {
    /// The operation for a concrete path; literal segments win over `{parameters}`. Percent-encoded
    /// segments are compared decoded.
    public static func find(
        in document: DereferencedDocument, method: String, path: String
    ) -> (String, DereferencedOperation)? {
        let segments = (path.split(separator: "?").first.map { $0.split(separator: "/") } ?? [])
            .map { $0.removingPercentEncoding ?? String($0) }
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
}

/// JSON Schema (2020-12, as OpenAPI 3.1 uses it) checks of a JSON instance, for the keywords these specs
/// use: types and null, enum/const, required, properties, additionalProperties, items, allOf/oneOf/
/// anyOf/not, string length, pattern and date formats, numeric bounds. Instances are what
/// `JSONSerialization` gives (booleans told apart from numbers).
public enum SchemaCheck {
    public static func problems(json: Data, schema: DereferencedJSONSchema, at place: String) -> [String] {
        guard let value = try? JSONSerialization.jsonObject(with: json, options: .fragmentsAllowed) else {
            return ["\(place): body is not JSON"]
        }
        return problems(value, schema, "\(place) $")
    }

    public static func problems(_ value: Any, _ schema: DereferencedJSONSchema, _ at: String) -> [String] {
        if value is NSNull && schema.nullable { return [] }
        if let allowed = schema.allowedValues {
            let values = allowed.map { canonical($0.value ?? NSNull()) }
            if !values.contains(canonical(value)) { return ["\(at): \(canonical(value)) is not one of \(values)"] }
        }
        switch schema {
        case .null:
            return value is NSNull ? [] : ["\(at): expected null, got \(value)"]
        case .boolean:
            return isBool(value) ? [] : ["\(at): expected a boolean, got \(value)"]
        case .integer(_, let context):
            guard let number = number(value), number.rounded() == number else { return ["\(at): expected an integer, got \(value)"] }
            var found: [String] = []
            if let minimum = context.minimum, number < Double(minimum.value) { found.append("\(at): \(number) < \(minimum.value)") }
            if let maximum = context.maximum, number > Double(maximum.value) { found.append("\(at): \(number) > \(maximum.value)") }
            return found
        case .number:
            return number(value) == nil ? ["\(at): expected a number, got \(value)"] : []
        case .string(let core, let context):
            guard let text = value as? String else { return ["\(at): expected a string, got \(value)"] }
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
            guard let object = value as? [String: Any] else { return ["\(at): expected an object, got \(value)"] }
            var found = context.requiredProperties.filter { object[$0] == nil }.map { "\(at): missing required \($0)" }
            for (key, item) in object.sorted(by: { $0.key < $1.key }) {
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
            guard let items = value as? [Any] else { return ["\(at): expected an array, got \(value)"] }
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

    private static func isBool(_ value: Any) -> Bool {
        if type(of: value) == Bool.self { return true }
        if let number = value as? NSNumber { return String(cString: number.objCType) == "c" }
        return false
    }

    private static func number(_ value: Any) -> Double? {
        guard !isBool(value), let number = value as? NSNumber else { return nil }
        return number.doubleValue
    }

    /// One spelling per JSON value, whichever Swift or Foundation type holds it.
    private static func canonical(_ value: Any) -> String {
        if value is NSNull || value is Void { return "null" }  // AnyCodable holds null as ()
        if isBool(value), let bool = value as? Bool { return bool ? "true" : "false" }
        if let text = value as? String { return "\"\(text)\"" }
        if let number = number(value) { return "\(number)" }
        return "\(value)"
    }
}
