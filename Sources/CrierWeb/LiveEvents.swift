import CrierCore
import CrierGateway
import Foundation
import Hummingbird
import ServiceLifecycle
import Synchronization

/// The open `/events` streams: at most `perUser` for one user and `total` for the server (the next
/// is refused with 429), each ended when its sign-in ends.
///
/// A stream holds no queue: a change sets its `dirty` flag and wakes it (an `AsyncStream` that keeps
/// only the newest wake-up), so a client that never reads costs one flag however much changes.
final class LiveStreams: Sendable {
    struct Limits: Sendable {
        var perUser = 4
        var total = 200
    }

    /// One open stream's state.
    final class Stream: Sendable {
        let id = UUID()
        let userId: Int64
        let session: String?
        let wakeUps: AsyncStream<Void>
        fileprivate let wake: AsyncStream<Void>.Continuation
        private let flags = Mutex<(dirty: Bool, ended: Bool)>((false, false))

        fileprivate init(userId: Int64, session: String?) {
            self.userId = userId
            self.session = session
            (wakeUps, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        }

        fileprivate func markChanged() {
            flags.withLock { $0.dirty = true }
            wake.yield()
        }

        fileprivate func end() {
            flags.withLock { $0.ended = true }
            wake.yield()
        }

        /// Whether something changed since the last call (and clears it).
        func takeChange() -> Bool { flags.withLock { flags in defer { flags.dirty = false }; return flags.dirty } }
        var hasEnded: Bool { flags.withLock { $0.ended } }
        func tick() { wake.yield() }
    }

    let limits: Limits
    private let state = Mutex<(streams: [UUID: Stream], lastPolled: [Int64: ContinuousClock.Instant])>(([:], [:]))

    init(limits: Limits = Limits()) { self.limits = limits }

    /// A new stream for the user's sign-in, or `nil` when the user or the server has as many as allowed.
    func open(userId: Int64, session: String?) -> Stream? {
        let stream = Stream(userId: userId, session: session)
        return state.withLock { state in
            guard state.streams.count < limits.total,
                state.streams.values.count(where: { $0.userId == userId }) < limits.perUser
            else { return nil }
            state.streams[stream.id] = stream
            return stream
        }
    }

    func close(_ stream: Stream) {
        _ = state.withLock { $0.streams.removeValue(forKey: stream.id) }
        stream.wake.finish()
    }

    /// Marks the user's streams changed (`nil`: everyone's).
    func changed(userId: Int64?) {
        for stream in state.withLock({ state in state.streams.values.filter { userId == nil || $0.userId == userId } }) {
            stream.markChanged()
        }
    }

    /// Ends the streams of one sign-in (its cookie was signed out).
    func endSignIn(_ session: String) {
        for stream in state.withLock({ state in state.streams.values.filter { $0.session == session } }) { stream.end() }
    }

    /// Ends every stream (the server is shutting down: it waits for open responses).
    func endAll() {
        for stream in state.withLock({ Array($0.streams.values) }) { stream.end() }
    }

    /// Whether the user's numbers are due a look at the gateway (one stream looks for all of a user's).
    func claimStatusPoll(userId: Int64, every interval: Duration) -> Bool {
        state.withLock { state in
            let now = ContinuousClock.now
            if let last = state.lastPolled[userId], now - last < interval { return false }
            state.lastPolled[userId] = now
            if state.lastPolled.count > 10 * limits.total {
                let open = Set(state.streams.values.map(\.userId))
                state.lastPolled = state.lastPolled.filter { open.contains($0.key) }
            }
            return true
        }
    }

    var openCount: Int { state.withLock { $0.streams.count } }
}

/// Hands the store's activity announcements to the open streams: one follower of the change feed
/// for the whole server (with PostgreSQL, one `LISTEN` connection), not one per stream.
struct LiveFeedService: Service {
    let streams: LiveStreams
    let followActivity: @Sendable (@escaping @Sendable (Int64?) -> Void) async -> Void

    func run() async throws {
        await withGracefulShutdownHandler {
            await cancelWhenGracefulShutdown {
                await followActivity { owner in streams.changed(userId: owner) }
            }
        } onGracefulShutdown: {
            streams.endAll()
        }
    }
}

/// How often a live page looks at things nobody announces (a phone linked at the gateway without a
/// webhook to say so), and how often it proves the connection and the sign-in are still there.
struct LiveTiming: Sendable {
    var heartbeat: Duration = .seconds(15)
    /// While one of the user's numbers is not connected: the QR code appears and WORKING is seen
    /// within seconds.
    var pollWhileDisconnected: Duration = .seconds(2)
    var pollWhileConnected: Duration = .seconds(20)
}

/// `GET /events`: server-sent events for the signed-in user's pages (DESIGN §11). Each `changed`
/// says something of the user's changed, so the page refetches its live parts through the ordinary,
/// scoped routes: the stream itself carries no data. A comment every `heartbeat` keeps proxies from
/// closing it and ends it once its sign-in was revoked or expired; signing out ends it at once.
struct LiveEventsPage {
    let dashboard: Dashboard

    func addRoutes(to router: RouterGroup<WebContext>) {
        router.get("events", use: events)
    }

    @Sendable func events(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        guard let stream = dashboard.streams.open(userId: user.id, session: context.sessionCookie) else {
            throw WebError.tooManyAttempts(retryAfterSeconds: 30)
        }
        // A page left (the browser closes the connection) frees its slot at once.
        context.connectionClosed?.whenComplete { _ in stream.end() }
        let dashboard = dashboard
        var headers = PageRenderer.securityHeaders
        headers[.contentType] = "text/event-stream"
        let body = ResponseBody { writer in
            defer { dashboard.streams.close(stream) }
            try await writer.write(ByteBuffer(string: "retry: 3000\n: connected\n\n"))
            // The server stops once its open responses end: a stream ends when shutdown begins.
            try await withGracefulShutdownHandler {
                try await Self.serve(stream, user: user, dashboard: dashboard, writer: &writer)
            } onGracefulShutdown: {
                stream.end()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Writes `changed` when something changed, a comment every heartbeat, until the stream ends, its
    /// sign-in is no longer valid, or the client is gone.
    static func serve(
        _ stream: LiveStreams.Stream, user: User, dashboard: Dashboard, writer: inout any ResponseBodyWriter
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Self.tick(stream, user: user, dashboard: dashboard) }
            defer { group.cancelAll() }
            var lastBeat = ContinuousClock.now
            for await _ in stream.wakeUps {
                if stream.hasEnded { break }
                if stream.takeChange() {
                    try await writer.write(ByteBuffer(string: "event: changed\ndata: {}\n\n"))
                }
                guard ContinuousClock.now - lastBeat >= dashboard.liveTiming.heartbeat else { continue }
                lastBeat = ContinuousClock.now
                guard let cookie = stream.session,
                    try await dashboard.accounts.user(forWebSession: cookie)?.id == user.id
                else { break }
                try await writer.write(ByteBuffer(string: ": ping\n\n"))
            }
        }
    }

    /// Wakes the stream once a second (its heartbeat is counted from these) and, for one of the user's
    /// streams, looks at the user's numbers at the gateway: a status that changed is stored, which
    /// announces it, which marks the user's streams changed.
    static func tick(_ stream: LiveStreams.Stream, user: User, dashboard: Dashboard) async throws {
        var disconnected = true
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(1))
            stream.tick()
            let interval = disconnected ? dashboard.liveTiming.pollWhileDisconnected : dashboard.liveTiming.pollWhileConnected
            if dashboard.streams.claimStatusPoll(userId: user.id, every: interval) {
                let views = (try? await dashboard.sessions.sessions(for: user)) ?? []
                disconnected = views.contains { $0.status != .working }
            }
        }
    }
}
