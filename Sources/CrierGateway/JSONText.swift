import NIOCore

extension ByteBuffer {
    /// Writes `value` as a JSON string: quotes, backslashes and control characters escaped, everything
    /// else copied as UTF-8 in runs. Shared by the API's responses and the gateway's request bodies,
    /// written for every message, where the generic encoders were a visible share of the CPU.
    public mutating func writeJSONString(_ value: String) {
        writeInteger(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<index])))
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): writeStaticString("\\\"")
                case UInt8(ascii: "\\"): writeStaticString("\\\\")
                case UInt8(ascii: "\n"): writeStaticString("\\n")
                case UInt8(ascii: "\r"): writeStaticString("\\r")
                case UInt8(ascii: "\t"): writeStaticString("\\t")
                case 0x08: writeStaticString("\\b")
                case 0x0C: writeStaticString("\\f")
                default:
                    writeStaticString("\\u00")
                    writeInteger(jsonHexDigits[Int(byte >> 4)])
                    writeInteger(jsonHexDigits[Int(byte & 0x0F)])
                }
            }
            writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart...])))
        }
        writeInteger(UInt8(ascii: "\""))
    }
}

private let jsonHexDigits = Array("0123456789abcdef".utf8)
