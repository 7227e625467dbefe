import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Cuts off clients that hold a connection without finishing a request, and answers
/// `Expect: 100-continue`.
///
/// NIO's idle timeout alone is not enough: a client that sends one header byte every few seconds is
/// never idle. So each connection has a deadline to deliver a complete request head (`headTimeout`,
/// which is also how long an idle keep-alive connection is kept) and then its whole body
/// (`bodyTimeout`); a connection that misses either is closed. While the server handles a request
/// there is no deadline: handlers bound their own work.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Timeouts: Sendable {
        var headTimeout: TimeAmount
        var bodyTimeout: TimeAmount
    }

    private let timeouts: Timeouts
    private var deadline: Scheduled<Void>?

    init(timeouts: Timeouts) { self.timeouts = timeouts }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(timeouts.headTimeout, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(timeouts.headTimeout, context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            arm(timeouts.bodyTimeout, context: context)
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
        if case .end = unwrapOutboundIn(data) {
            // The response is out: the connection now waits, idle, for its next request head.
            arm(timeouts.headTimeout, context: context)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        disarm()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
