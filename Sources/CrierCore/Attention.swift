/// Something about a campaign its organiser must see, so that nobody believes reminders go out
/// when they do not (DESIGN §11). A campaign with nothing wrong has none.
public struct Attention: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// Messages whose time passed beyond the grace window unsent.
        case missed
        /// Messages the gateway refused for good.
        case failed
        /// The campaign's number is not connected: its messages wait.
        case sessionNotWorking = "session_not_working"
        /// A message that is due is held back (gateway retries, a session that is down).
        case waiting
    }

    public let kind: Kind
    /// In words, for a person: "1 missed", "Number disconnected — messages are waiting".
    public let message: String
    public let count: Int?

    public init(kind: Kind, message: String, count: Int? = nil) {
        self.kind = kind
        self.message = message
        self.count = count
    }

    /// What needs attention in a campaign with these counts. `sessionProblem` says, in words, what is
    /// wrong with its number (`nil`: working, or not known); `waitingReason` is why a due message
    /// waits. A deleted campaign needs none; nothing waits in one whose messages are all done.
    public static func of(
        tally: MessageTally, isDeleted: Bool, sessionProblem: String?, waitingReason: String?
    ) -> [Attention] {
        guard !isDeleted else { return [] }
        var found: [Attention] = []
        if tally[.missed] > 0 { found.append(Attention(kind: .missed, message: "\(tally[.missed]) missed", count: tally[.missed])) }
        if tally[.failed] > 0 { found.append(Attention(kind: .failed, message: "\(tally[.failed]) failed", count: tally[.failed])) }
        guard tally.notTerminal > 0 else { return found }
        if let sessionProblem {
            found.append(Attention(kind: .sessionNotWorking, message: "Number disconnected (\(sessionProblem)) — messages are waiting"))
        }
        if let waitingReason {
            found.append(Attention(kind: .waiting, message: "A due message is waiting: \(waitingReason)"))
        }
        return found
    }
}
