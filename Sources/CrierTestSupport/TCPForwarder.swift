import NIOCore
import NIOPosix
import Synchronization

/// A loopback TCP port that forwards every connection to another address, and can be cut: the way
/// tests take a real PostgreSQL away from a running Crier and give it back.
public final class TCPForwarder: Sendable {
    public let port: Int
    private let listener: any Channel
    private let connections: Connections

    /// Listens on a free loopback port, forwarding to `host:targetPort`.
    public static func start(to host: String, port targetPort: Int) async throws -> TCPForwarder {
        let connections = Connections()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                guard connections.admit(inbound) else { return inbound.close() }
                return ClientBootstrap(group: inbound.eventLoop).connect(host: host, port: targetPort)
                    .flatMap { outbound in
                        connections.track(outbound)
                        return outbound.pipeline.addHandler(Relay(partner: inbound))
                            .flatMap { inbound.pipeline.addHandler(Relay(partner: outbound)) }
                            .flatMap { inbound.setOption(.autoRead, value: true) }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TCPForwarder(port: listener.localAddress?.port ?? 0, listener: listener, connections: connections)
    }

    private init(port: Int, listener: any Channel, connections: Connections) {
        self.port = port
        self.listener = listener
        self.connections = connections
    }

    /// Closes every forwarded connection and refuses new ones until `restore`.
    public func cut() {
        for channel in connections.cut() { channel.close(promise: nil) }
    }

    /// Forwards new connections again.
    public func restore() { connections.restore() }

    public func close() async throws {
        cut()
        try await listener.close()
    }

    private final class Connections: Sendable {
        private let state = Mutex<(cut: Bool, open: [ObjectIdentifier: any Channel])>((false, [:]))

        /// Whether a new connection may be forwarded now (it is tracked if so).
        func admit(_ channel: any Channel) -> Bool {
            state.withLock { state in
                guard !state.cut else { return false }
                state.open[ObjectIdentifier(channel)] = channel
                return true
            }
        }

        func track(_ channel: any Channel) { state.withLock { $0.open[ObjectIdentifier(channel)] = channel } }

        func cut() -> [any Channel] {
            state.withLock { state in
                state.cut = true
                defer { state.open.removeAll() }
                return Array(state.open.values)
            }
        }

        func restore() { state.withLock { $0.cut = false } }
    }
}

/// Writes what one side reads to the other, and closes the other when one side goes.
private final class Relay: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let partner: any Channel

    init(partner: any Channel) { self.partner = partner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }
}
