import Foundation
import Synchronization

/// Something a dispatcher (in this process or, with PostgreSQL, any process) should act on now
/// rather than at its next periodic re-check.
public enum StoreChange: Sendable, Hashable {
    /// Messages were added or cancelled. `earliestDue` is the soonest an added message falls due,
    /// when the announcer knows it: a dispatcher that will look by then need not look now (creating a
    /// campaign for next week costs it nothing). Nil: look now.
    case scheduleChanged(earliestDue: Date?)
    /// A gateway session came back: messages waiting for it can go.
    case sessionRecovered
    /// Something a user sees changed — a message's state, a receipt, a number's status — so their open
    /// pages should refresh; `nil`: possibly anyone's.
    case activity(ownerId: Int64?)

    /// When a dispatcher should look because of this change; nil: now.
    public var earliestDue: Date? {
        if case .scheduleChanged(let due) = self { due } else { nil }
    }

    /// Whether a dispatcher should look at what is due because of this change.
    public var concernsDispatch: Bool {
        if case .activity = self { false } else { true }
    }

    /// The change as it travels between processes (PostgreSQL's NOTIFY payload): `session`,
    /// `schedule`, `schedule@` and the due instant in Unix milliseconds, `activity` or `activity@`
    /// and an owner's row id.
    public var payload: String {
        switch self {
        case .sessionRecovered: "session"
        case .scheduleChanged(nil): "schedule"
        case .scheduleChanged(let due?): "schedule@\(due.millis)"
        case .activity(nil): "activity"
        case .activity(let owner?): "activity@\(owner)"
        }
    }

    public init?(payload: String) {
        if payload == "session" {
            self = .sessionRecovered
        } else if payload == "activity" {
            self = .activity(ownerId: nil)
        } else if payload.hasPrefix("activity@"), let owner = Int64(payload.dropFirst("activity@".count)) {
            self = .activity(ownerId: owner)
        } else if payload == "schedule" {
            self = .scheduleChanged(earliestDue: nil)
        } else if payload.hasPrefix("schedule@"), let millis = Int64(payload.dropFirst("schedule@".count)) {
            self = .scheduleChanged(earliestDue: Date(millis: millis))
        } else {
            return nil
        }
    }
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
