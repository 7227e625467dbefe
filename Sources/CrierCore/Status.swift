/// The life of one message. Terminal states never change again (except acks on `sent`).
public enum MessageStatus: String, CaseIterable, Sendable, Codable {
    case pending, sending, sent, failed, missed, cancelled

    public var isTerminal: Bool {
        switch self {
        case .pending, .sending: false
        case .sent, .failed, .missed, .cancelled: true
        }
    }
}

/// How many of a campaign's current messages are in each state.
public struct MessageTally: Hashable, Sendable {
    public var counts: [MessageStatus: Int]

    public init(_ counts: [MessageStatus: Int] = [:]) { self.counts = counts }

    public subscript(status: MessageStatus) -> Int {
        get { counts[status, default: 0] }
        set { counts[status] = newValue }
    }

    public var total: Int { counts.values.reduce(0, +) }
    public var notTerminal: Int { self[.pending] + self[.sending] }
}

/// A campaign's status, always derived from its messages so it is never stale.
public enum CampaignStatus: String, CaseIterable, Sendable, Codable {
    case scheduled = "SCHEDULED"
    case inProgress = "IN_PROGRESS"
    case completed = "COMPLETED"
    case failed = "FAILED"
    case cancelled = "CANCELLED"

    public static func derive(isDeleted: Bool, tally: MessageTally) -> CampaignStatus {
        if isDeleted { return .cancelled }
        if tally.notTerminal > 0 { return tally[.sent] > 0 ? .inProgress : .scheduled }
        return tally[.failed] + tally[.missed] > 0 ? .failed : .completed
    }
}
