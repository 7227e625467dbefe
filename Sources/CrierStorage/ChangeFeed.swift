import Foundation
import Synchronization

/// Something a dispatcher (in this process or, with PostgreSQL, any process) should act on now
/// rather than at its next periodic re-check.
public enum StoreChange: String, Sendable, CaseIterable {
    /// Messages were added or cancelled: one may be due sooner than the dispatcher thinks.
    case scheduleChanged = "schedule"
    /// A gateway session came back: messages waiting for it can go.
    case sessionRecovered = "session"
}

/// Change notifications between the parts of Crier sharing a database. A hint only: correctness never
/// depends on one arriving (the dispatcher's periodic re-check is the floor).
public protocol ChangeFeed: Sendable {
    /// Tells every follower; never fails (a lost hint costs at most one re-check interval).
    func announce(_ change: StoreChange) async
    /// Calls `onChange` for every change announced until the calling task is cancelled.
    func follow(_ onChange: @escaping @Sendable (StoreChange) -> Void) async
}

/// Changes within one process: what the processes sharing one SQLite file can share (a second
/// process, such as the command line, is covered by the periodic re-check).
public final class LocalChangeFeed: ChangeFeed {
    private let followers = Mutex<[UUID: @Sendable (StoreChange) -> Void]>([:])

    public init() {}

    public func announce(_ change: StoreChange) async {
        for follower in followers.withLock({ Array($0.values) }) { follower(change) }
    }

    public func follow(_ onChange: @escaping @Sendable (StoreChange) -> Void) async {
        let id = UUID()
        followers.withLock { $0[id] = onChange }
        defer { _ = followers.withLock { $0.removeValue(forKey: id) } }
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }
}
