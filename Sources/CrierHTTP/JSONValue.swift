import CrierCore
import CrierGateway
import Foundation
import Hummingbird

/// Any JSON value. Requests are read through it so that wrong types and unknown fields are reported
/// by field name; responses are built with it so that absent values are an explicit `null`.
public enum JSONValue: Hashable, Sendable, Codable {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A value as `JSONSerialization` gives it. Its booleans are NSNumbers of a class of their own,
    /// told apart here, so that `true` is never read as the number 1 (or 1 as `true`).
    init(parsed value: Any) {
        switch value {
        case let text as String: self = .string(text)
        case let number as NSNumber:
            self = type(of: number) == Self.booleanClass ? .bool(number.boolValue) : .number(number.doubleValue)
        case let items as [Any]: self = .array(items.map(JSONValue.init(parsed:)))
        case let object as [String: Any]: self = .object(object.mapValues(JSONValue.init(parsed:)))
        default: self = .null
        }
    }

    private static let booleanClass: AnyClass = type(of: NSNumber(value: true))

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Strings first: most fields are strings, and each failed guess costs a thrown error.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// `.string`, or `.null` for `nil`.
    static func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    /// An ISO-8601 UTC instant (`2026-03-08T14:30:00Z`), or `.null`.
    static func instant(_ value: Date?) -> JSONValue { value.map { .string($0.isoUTC) } ?? .null }

    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var buffer = ByteBuffer()
        value.write(to: &buffer)
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }

    /// Writes the value as compact JSON with sorted keys and unescaped slashes, as JSONEncoder would
    /// with `[.sortedKeys, .withoutEscapingSlashes]`, straight into the response buffer: a campaign
    /// with its messages is thousands of values, and the generic encoder spent most of a preview.
    func write(to buffer: inout ByteBuffer) {
        switch self {
        case .null: buffer.writeStaticString("null")
        case .bool(let value): buffer.writeStaticString(value ? "true" : "false")
        case .int(let value): buffer.writeString(String(value))
        case .number(let value):
            if !value.isFinite {
                buffer.writeStaticString("null")
            } else if value == value.rounded(), abs(value) < 1e15 {
                buffer.writeString(String(Int64(value)))
            } else {
                buffer.writeString(String(value))
            }
        case .string(let value): buffer.writeJSONString(value)
        case .array(let values):
            buffer.writeInteger(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                value.write(to: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let fields):
            buffer.writeInteger(UInt8(ascii: "{"))
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                buffer.writeJSONString(key)
                buffer.writeInteger(UInt8(ascii: ":"))
                fields[key, default: .null].write(to: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }
}

/// A request's JSON object, read field by field with errors that name the field.
struct JSONObjectReader {
    let fields: [String: JSONValue]

    /// Reads the body as one JSON object whose keys are all in `allowed`.
    static func read(
        _ request: Request, context: some RequestContext, allowed: Set<String>,
        explainUnknown: (String) -> String = { "Unknown field '\($0)'" }
    ) async throws -> JSONObjectReader {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let data = Data(buffer.readableBytesView)
        // JSONSerialization rather than JSONDecoder: a third of the time for a campaign's body (it
        // still refuses nesting deeper than 512, as the decoder does).
        guard let parsed = try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) else {
            throw APIError.invalid("Request body is not valid JSON", field: nil, code: "malformed_json")
        }
        guard let object = parsed as? [String: Any] else {
            throw APIError.invalid("Request body must be a JSON object", field: nil, code: "malformed_json")
        }
        let fields = object.mapValues(JSONValue.init(parsed:))
        if let key = DuplicateKeys.first(in: data) {
            throw APIError.invalid("\(key) appears more than once", field: key, code: "duplicate_field")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.invalid(explainUnknown(unknown), field: unknown, code: "unknown_field")
        }
        return JSONObjectReader(fields: fields)
    }

    /// The string at `key`; `nil` when absent or `null`.
    func string(_ key: String) throws -> String? {
        switch fields[key] {
        case nil, .null: return nil
        case .string(let value): return value
        default: throw APIError.invalid("\(key) must be a string", field: key, code: "wrong_type")
        }
    }

    /// The boolean at `key`; `nil` when absent or `null`.
    func bool(_ key: String) throws -> Bool? {
        switch fields[key] {
        case nil, .null: return nil
        case .bool(let value): return value
        default: throw APIError.invalid("\(key) must be true or false", field: key, code: "wrong_type")
        }
    }
}
