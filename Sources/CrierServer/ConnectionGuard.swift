import CrierCore
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Cuts off clients that hold a connection without finishing a request, refuses a client that
/// holds too many, and answers `Expect: 100-continue`.
///
/// NIO's idle timeout alone is not enough: a client that sends one header byte every few seconds is
/// never idle. So each request has a deadline for its head (`headTimeout`, which is also how long
/// an idle keep-alive connection is kept) and one for the whole request, head and body together
/// (`requestTimeout`, counted from when the connection began waiting for it); a connection that
/// misses either is closed. While the server handles a request there is no deadline: handlers bound
/// their own work. Which connections are let in at all is `ConnectionAdmission`'s decision.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Timeouts: Sendable {
        var headTimeout: TimeAmount
        var requestTimeout: TimeAmount
    }

    private let timeouts: Timeouts
    private let admission: ConnectionAdmission
    private var admitted: ConnectionAdmission.Ticket?
    private var deadline: Scheduled<Void>?
    /// When the connection began waiting for the current request.
    private var requestStarted = NIODeadline.now()
    /// Whether the response being written is an event stream (`/events`), which never ends by itself.
    private var streamingEvents = false

    init(timeouts: Timeouts, admission: ConnectionAdmission) {
        self.timeouts = timeouts
        self.admission = admission
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { finish() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            arm(until: requestStarted + timeouts.requestTimeout, context: context)
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
        case .body:
            break
        case .end:
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            streamingEvents = head.headerFields[.contentType]?.hasPrefix("text/event-stream") == true
        case .body:
            break
        case .end:
            // The response is out: the connection now waits, idle, for its next request head.
            streamingEvents = false
            waitForRequest(context: context)
        }
        context.write(data, promise: promise)
    }

    /// A browser that leaves a page closes its side of the event stream's connection; the server
    /// accepts half-closed connections, so it would only notice at its next write. Closing at once
    /// ends the stream and frees its place among the user's few.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if streamingEvents, let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func start(context: ChannelHandlerContext) {
        guard admitted == nil else { return }
        guard let ticket = admission.admit(context.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init)) else {
            context.close(promise: nil)
            return
        }
        admitted = ticket
        waitForRequest(context: context)
    }

    private func waitForRequest(context: ChannelHandlerContext) {
        requestStarted = .now()
        arm(until: requestStarted + timeouts.headTimeout, context: context)
    }

    private func finish() {
        disarm()
        if let admitted { admission.release(admitted) }
        admitted = nil
    }

    private func arm(until moment: NIODeadline, context: ChannelHandlerContext) {
        disarm()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(deadline: moment) { channel.close(promise: nil) }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

/// Which connections the server takes, shared by all of them.
///
/// - At most `perAddress` open from one client (an IPv4 address, an IPv6 /64), so one client
///   cannot hold the server's sockets; the machine itself (127.0.0.1, ::1) and trusted proxies,
///   which carry many clients, are not held to it.
/// - At most `regular` open from everyone but the machine itself; the listener takes `reserve`
///   more (`availableConnectionsDelegate`), which only the machine can use, so a health check from
///   127.0.0.1 is answered even while the rest are taken.
final class ConnectionAdmission: Sendable {
    struct Limits: Sendable {
        var regular: Int
        var reserve: Int
        var perAddress: Int
    }

    struct Ticket: Sendable {
        let key: String?
        let isLocal: Bool
    }

    let limits: Limits
    private let trustedProxies: [IPNetwork]
    private let state = Mutex<(regular: Int, byAddress: [String: Int])>((0, [:]))

    init(limits: Limits, trustedProxies: [IPNetwork]) {
        self.limits = limits
        self.trustedProxies = trustedProxies
    }

    /// A ticket for a new connection from `peer`, or `nil` when it must be closed.
    func admit(_ peer: IPAddress?) -> Ticket? {
        let isLocal = peer.map { $0.description == "127.0.0.1" || $0.description == "::1" } ?? true
        let isProxy = peer.map { address in trustedProxies.contains { $0.contains(address) } } ?? false
        // The listener's own cap (regular + reserve) bounds the machine's connections; counting them
        // here as well would refuse one accepted just before another's release was counted.
        guard !isLocal else { return Ticket(key: nil, isLocal: true) }
        let key = isProxy ? nil : peer?.networkKey
        return state.withLock { state in
            guard state.regular < limits.regular else { return nil }
            if let key {
                guard state.byAddress[key, default: 0] < limits.perAddress else { return nil }
                state.byAddress[key, default: 0] += 1
            }
            state.regular += 1
            return Ticket(key: key, isLocal: false)
        }
    }

    func release(_ ticket: Ticket) {
        guard !ticket.isLocal else { return }
        state.withLock { state in
            state.regular -= 1
            if let key = ticket.key {
                let left = state.byAddress[key, default: 1] - 1
                state.byAddress[key] = left > 0 ? left : nil
            }
        }
    }
}
