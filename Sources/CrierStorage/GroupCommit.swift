import Synchronization

/// Writes that many concurrent callers ask for, made together: the first write waits `linger` for
/// others to join it, and while one batch is being written the next ones gather for the next write.
/// So under load one transaction (one commit: on SQLite, every page it changed appended to the WAL
/// once) carries many callers' writes (sends' outcomes, API creates), at the cost of at most `linger`
/// more per write; an idle system writes at once.
public final class GroupCommit<Item: Sendable, Output: Sendable>: Sendable {
    private typealias Waiter = (item: Item, continuation: CheckedContinuation<Output, any Error>)

    private struct State {
        var waiting: [Waiter] = []
        var writing = false
    }

    private let state = Mutex(State())
    private let maxBatch: Int
    private let linger: Duration
    private let write: @Sendable ([Item]) async throws -> [Result<Output, any Error>]

    /// `write` stores a batch and returns one result per item, in order; when it throws, every item
    /// of the batch fails with its error.
    public init(
        maxBatch: Int = 500, linger: Duration = .zero,
        write: @escaping @Sendable ([Item]) async throws -> [Result<Output, any Error>]
    ) {
        self.maxBatch = maxBatch
        self.linger = linger
        self.write = write
    }

    /// Writes `item` with whatever else is waiting; returns its own result.
    public func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let startsWriting = state.withLock { state in
                state.waiting.append((item, continuation))
                guard !state.writing else { return false }
                state.writing = true
                return true
            }
            if startsWriting { Task { await self.writeUntilDrained() } }
        }
    }

    private func writeUntilDrained() async {
        if linger > .zero { try? await Task.sleep(for: linger) }
        while let batch = nextBatch() {
            do {
                let results = try await write(batch.map(\.item))
                for (index, waiter) in batch.enumerated() {
                    waiter.continuation.resume(
                        with: index < results.count ? results[index] : .failure(GroupCommitError.missingResult))
                }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }

    /// The next items to write, or `nil` (and no writer running) when none wait.
    private func nextBatch() -> [Waiter]? {
        state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.writing = false
                return nil
            }
            let batch = Array(state.waiting.prefix(maxBatch))
            state.waiting.removeFirst(batch.count)
            return batch
        }
    }
}

/// A batch write returned fewer results than it was given items (a bug in the write).
public enum GroupCommitError: Error {
    case missingResult
}
