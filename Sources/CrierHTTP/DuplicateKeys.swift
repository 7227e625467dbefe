import Foundation

/// Finds a key repeated within one JSON object. JSON parsers keep one of the two values silently, so
/// `{"title":"a","title":"b"}` would store something the client did not mean: such bodies are refused.
/// Runs only on text a JSON parser has already accepted, so it need not validate.
enum DuplicateKeys {
    /// The first repeated key, or `nil`. Linear in the body's size: each open object's keys are
    /// kept in a set that is changed in place (a set copied out of the stack and back, as once here,
    /// is copied whole at every key: a 1 MB object of 90,000 keys took 26 s of CPU).
    static func first(in json: Data) -> String? {
        /// One per open container: the keys an object has shown so far (`nil` for an array), and
        /// whether its next string is a key.
        struct Frame {
            var keys: Set<String>?
            var expectingKey: Bool
        }
        var stack: [Frame] = []
        let bytes = [UInt8](json)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                stack.append(Frame(keys: [], expectingKey: true))
            case UInt8(ascii: "["):
                stack.append(Frame(keys: nil, expectingKey: false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                stack.removeLast()
            case UInt8(ascii: ","):
                if let top = stack.indices.last, stack[top].keys != nil { stack[top].expectingKey = true }
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                var escaped = false
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") || escaped {
                    escaped = !escaped && bytes[index] == UInt8(ascii: "\\")
                    index += 1
                }
                if let top = stack.indices.last, stack[top].expectingKey {
                    let key = decodeString(bytes[start...min(index, bytes.count - 1)])
                    if stack[top].keys?.insert(key).inserted == false { return key }
                    stack[top].expectingKey = false
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
