import Synchronization

/// Writes that many concurrent sends ask for, made together: the first write waits `linger` for
/// others to join it, and while one batch is being written the next ones gather for the next write.
/// So under load one transaction (one commit: on SQLite, every page it changed appended to the WAL
/// once) carries many messages' writes, at the cost of at most `linger` more per write.
final class GroupCommit<Item: Sendable>: Sendable {
    private typealias Waiter = (item: Item, continuation: CheckedContinuation<Bool, any Error>)

    private struct State {
        var waiting: [Waiter] = []
        var writing = false
    }

    private let state = Mutex(State())
    private let maxBatch: Int
    private let linger: Duration
    private let write: @Sendable ([Item]) async throws -> [Bool]

    /// `write` stores a batch and returns one result per item, in order.
    init(maxBatch: Int = 500, linger: Duration = .zero, write: @escaping @Sendable ([Item]) async throws -> [Bool]) {
        self.maxBatch = maxBatch
        self.linger = linger
        self.write = write
    }

    /// Writes `item` with whatever else is waiting; returns its own result.
    func submit(_ item: Item) async throws -> Bool {
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
                    waiter.continuation.resume(returning: index < results.count ? results[index] : false)
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
