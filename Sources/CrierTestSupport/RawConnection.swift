import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection to the server under test that sends exactly the bytes given: for what an HTTP
/// client library would never send (malformed chunks, half a header, a client that just sits there).
public final class RawConnection: @unchecked Sendable {
    private let socket: Int32

    /// Connects from `source` (any 127.x address is this machine: tests play several clients).
    public init(port: Int, from source: String = "127.0.0.1") throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw RawConnectionError("bind to \(source) failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw RawConnectionError("connect failed: errno \(errno)") }
    }

    deinit { close() }

    private let closed = NSLock()
    private var isClosed = false

    /// Closes the connection now (as a browser does when it leaves a page).
    public func close() {
        closed.lock()
        defer { closed.unlock() }
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(socket)
    }

    public func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Everything the server sends until it closes the connection or `timeout` passes without data.
    /// Waits on a thread of its own: a blocking `recv` on Swift's two-thread pool (on a 2-core
    /// machine) would starve the very server handlers it waits for.
    public func receive(timeout: TimeInterval) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.blockingReceive(timeout: timeout)) }
            thread.start()
        }
    }

    /// What the server sends until `enough` holds for it, the connection closes or `timeout`
    /// passes: for a response that stays open (an event stream), without waiting out its silence.
    public func receive(timeout: TimeInterval, until enough: @escaping @Sendable (String) -> Bool) async -> (text: String, closed: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        var text = ""
        while Date() < deadline {
            let part = await receive(timeout: 0.1)
            text += part.text
            if part.closed || enough(text) { return (text, part.closed) }
        }
        return (text, false)
    }

    private func blockingReceive(timeout: TimeInterval) -> (text: String, closed: Bool) {
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
            } else {
                // A server that closes with our bytes unread resets the connection: closed all the same.
                return (String(decoding: data, as: UTF8.self), count == 0 || errno == ECONNRESET)
            }
        }
    }
}

public struct RawConnectionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
