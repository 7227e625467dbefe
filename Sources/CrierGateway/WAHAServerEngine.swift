import Synchronization

/// The engine a WAHA runs, as `/api/server/version` names it. WAHA runs one engine for all of its
/// sessions, so one question answers for every session; it is asked again after `recheck`, since a
/// WAHA restarted with another engine answers at the same URL. Concurrent callers share one question.
final class WAHAServerEngine: Sendable {
    private enum State {
        case unknown
        case asking(Task<String?, Never>)
        case known(String?, at: ContinuousClock.Instant)
    }

    private let state = Mutex(State.unknown)
    private let recheck: Duration

    init(recheck: Duration) { self.recheck = recheck }

    /// The engine (upper case), or `nil` when WAHA did not say; `ask` puts the question.
    func current(asking ask: @escaping @Sendable () async -> String?) async -> String? {
        enum Next {
            case known(String?)
            case wait(Task<String?, Never>)
        }
        let next = state.withLock { state -> Next in
            switch state {
            case .known(let engine, let at) where ContinuousClock.now - at < recheck:
                return .known(engine)
            case .asking(let question):
                return .wait(question)
            case .unknown, .known:
                let question = Task { await ask() }
                state = .asking(question)
                return .wait(question)
            }
        }
        switch next {
        case .known(let engine):
            return engine
        case .wait(let question):
            let engine = await question.value
            state.withLock { state in
                if case .asking = state { state = .known(engine, at: .now) }
            }
            return engine
        }
    }
}
