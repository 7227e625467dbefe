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
///
/// A request moves the deadline three times, so the deadline is a stored instant and one timer per
/// connection checks it, rescheduled only when it would fire too late: scheduling and cancelling a
/// timer at each move were three insertions into the event loop's timer heap per request.
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
    /// When the connection is cut off; `nil` while a request is being handled.
    private var deadline: NIODeadline?
    /// The check of `deadline`, and when it runs: never after `deadline`, possibly before.
    private var timer: (task: Scheduled<Void>, at: NIODeadline)?

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
        timer?.task.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        timer?.task.cancel()
        timer = nil
    }

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
        let due = NIODeadline.now() + timeout
        deadline = due
        if let timer, timer.at <= due { return }  // it will look in time, and move itself on
        schedule(at: due, context: context)
    }

    private func disarm() {
        deadline = nil  // the timer, if any, finds no deadline and stops
    }

    private func schedule(at due: NIODeadline, context: ChannelHandlerContext) {
        timer?.task.cancel()
        let channel = context.channel
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            timer = nil
            guard let deadline else { return }
            if deadline <= .now() {
                channel.close(promise: nil)
            } else {
                schedule(at: deadline, context: context)
            }
        }
        timer = (task, due)
    }
}
