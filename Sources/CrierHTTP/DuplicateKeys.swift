import Foundation

/// Finds a key repeated within one JSON object. JSON parsers keep one of the two values silently, so
/// `{"title":"a","title":"b"}` would store something the client did not mean: such bodies are refused.
/// Runs only on text a JSON parser has already accepted, so it need not validate.
enum DuplicateKeys {
    /// The first repeated key, or `nil`.
    static func first(in json: Data) -> String? {
        enum Container { case object(Set<String>, expectingKey: Bool), array }
        var stack: [Container] = []
        let bytes = [UInt8](json)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                stack.append(.object([], expectingKey: true))
            case UInt8(ascii: "["):
                stack.append(.array)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                stack.removeLast()
            case UInt8(ascii: ","):
                if case .object(let keys, _) = stack.last { stack[stack.count - 1] = .object(keys, expectingKey: true) }
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                var escaped = false
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") || escaped {
                    escaped = !escaped && bytes[index] == UInt8(ascii: "\\")
                    index += 1
                }
                if case .object(var keys, true) = stack.last {
                    let key = decodeString(bytes[start...min(index, bytes.count - 1)])
                    if keys.contains(key) { return key }
                    keys.insert(key)
                    stack[stack.count - 1] = .object(keys, expectingKey: false)
                }
            default:
                break
            }
            index += 1
        }
        return nil
    }

    private static func decodeString(_ literal: ArraySlice<UInt8>) -> String {
        if !literal.contains(UInt8(ascii: "\\")) { return String(decoding: literal.dropFirst().dropLast(), as: UTF8.self) }
        return (try? JSONDecoder().decode(String.self, from: Data(literal))) ?? String(decoding: literal, as: UTF8.self)
    }
}
