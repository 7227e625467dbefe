import ServiceLifecycle

/// Holds a service back until the HTTP server is listening, so a server that cannot bind its port
/// (already in use) exits before the dispatcher has claimed, let alone sent, anything.
final class StartGate: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }

    func open() {
        continuation.yield()
        continuation.finish()
    }

    /// Returns once the gate is open, or at once when the waiting task is cancelled.
    func wait() async {
        for await _ in stream { return }
    }
}

/// Runs `service` once `gate` opens; stops without running it when shut down first.
struct GatedService: Service {
    let gate: StartGate
    let service: any Service

    func run() async throws {
        await cancelWhenGracefulShutdown { await gate.wait() }
        guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        try await service.run()
    }
}
