import CrierStorage
import Synchronization

/// Tells users' open pages that their messages changed, through the store's change feed: each owner
/// at most once per flush (`Dispatcher` flushes every quarter second), however many of their
/// messages changed meanwhile, so a burst of sends costs a handful of notifications, not one each.
final class ActivityAnnouncer: Sendable {
    private let feed: any ChangeFeed
    private let pending = Mutex<(owners: Set<Int64>, everyone: Bool)>(([], false))

    init(feed: any ChangeFeed) { self.feed = feed }

    func note(owner: Int64) { _ = pending.withLock { $0.owners.insert(owner) } }

    /// A change whose owners are not known here (messages marked missed in bulk).
    func noteEveryone() { pending.withLock { $0.everyone = true } }

    func flush() async {
        let (owners, everyone) = pending.withLock { state in
            defer { state = ([], false) }
            return (state.owners, state.everyone)
        }
        if everyone {
            await feed.announce(.activity(ownerId: nil))
            return
        }
        for owner in owners { await feed.announce(.activity(ownerId: owner)) }
    }
}
