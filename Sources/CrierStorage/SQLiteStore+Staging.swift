import CrierCore
import Foundation
import GRDB

/// Why messages are staged: the dispatcher finds due messages through a time-ordered index, and a
/// daily campaign's year of instants falls in 365 different pages of it — writing those pages was
/// most of what creating such a campaign cost. So a message due within `stagingHorizon` of its
/// creation is written into the due index (`staged = 1`); a later one waits outside it, and its
/// campaign's `unstaged_from` (one index entry per campaign) says when the first such message falls
/// due. Claiming and marking missed first stage what has come within the horizon; `nextDueAt` looks
/// at both, so a dispatcher asleep until then still wakes for a message that was never staged.
extension SQLiteStore {
    /// How far ahead of its instant a message enters the due index. The dispatcher passes at least
    /// once a second, so hours ahead leaves staging far from the moment anything is sent.
    static let stagingHorizon: TimeInterval = 6 * 3600
    /// Campaigns staged per claim at most, so that one claim's transaction stays short; what is left
    /// is staged by the next passes (`nextDueAt` keeps naming it until then).
    static let stagingBatch = 500

    /// Whether a message written at `writtenAt` goes straight into the due index.
    static func isStaged(dueAt: Int64, writtenAt: Date) -> Bool {
        dueAt <= writtenAt.addingTimeInterval(stagingHorizon).millis
    }

    /// The instant of the first of `instants` that waits outside the due index, for `unstaged_from`.
    static func firstUnstaged(_ instants: some Sequence<Int64>, writtenAt: Date) -> Int64? {
        instants.filter { !isStaged(dueAt: $0, writtenAt: writtenAt) }.min()
    }

    /// Brings the pending messages due within the horizon of `now` into the due index, for at most
    /// `limit` campaigns, and moves those campaigns' `unstaged_from` to what still waits (or NULL).
    static func stageUpcoming(now: Date, limit: Int = stagingBatch, db: Database) throws {
        let until = now.addingTimeInterval(stagingHorizon).millis
        let campaigns = try Int64.fetchAll(
            db.cachedStatement(sql: "SELECT id FROM campaigns WHERE unstaged_from <= ? ORDER BY unstaged_from LIMIT ?"),
            arguments: [until, limit])
        guard !campaigns.isEmpty else { return }
        let ids = jsonArray(campaigns)
        let waiting = "staged = 0 AND status = \(MessageStatus.pending.sql)"
        try db.cachedStatement(
            sql: """
                UPDATE messages SET staged = 1
                WHERE campaign_id IN (SELECT value FROM json_each(?)) AND \(waiting) AND next_attempt_at <= ?
                """
        ).execute(arguments: [ids, until])
        try db.cachedStatement(
            sql: """
                UPDATE campaigns SET unstaged_from =
                    (SELECT MIN(next_attempt_at) FROM messages WHERE campaign_id = campaigns.id AND \(waiting))
                WHERE id IN (SELECT value FROM json_each(?))
                """
        ).execute(arguments: [ids])
    }

    /// When the earliest pending message falls due, staged or not.
    static func nextDue(db: Database) throws -> Int64? {
        let staged = try Int64.fetchOne(
            db.cachedStatement(
                sql: "SELECT MIN(next_attempt_at) FROM messages WHERE status = \(MessageStatus.pending.sql) AND staged = 1"))
        let unstaged = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MIN(unstaged_from) FROM campaigns WHERE unstaged_from IS NOT NULL"))
        return [staged, unstaged].compactMap { $0 }.min()
    }
}
