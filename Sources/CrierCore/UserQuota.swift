/// How much one user may keep, so that one account (or one leaked token) cannot fill the server's
/// disk: open campaigns, and the message rows and text bytes stored for all of the user's campaigns.
///
/// Rows and bytes count everything stored — sent messages, superseded schedules, deleted campaigns —
/// until it is removed for good (`crier prune`, or deleting the user), since it takes the disk
/// until then; open campaigns count only those not deleted.
public struct UserQuota: Hashable, Sendable {
    public var campaigns: Int
    public var messages: Int
    public var bytes: Int

    public init(campaigns: Int, messages: Int, bytes: Int) {
        self.campaigns = campaigns
        self.messages = messages
        self.bytes = bytes
    }

    /// The server's defaults: far beyond one organiser's needs (five daily campaigns a year are
    /// 1,825 messages), far below what fills a disk.
    public static let standard = UserQuota(campaigns: 1_000, messages: 200_000, bytes: 64 << 20)
    /// No limit (stores opened by tools and tests that are not a server).
    public static let unlimited = UserQuota(campaigns: .max / 4, messages: .max / 4, bytes: .max / 4)

    /// What a new schedule adds to a user's usage.
    public struct Usage: Hashable, Sendable {
        public var campaigns: Int
        public var messages: Int
        public var bytes: Int

        /// A schedule of `messages` (their texts), under `template`; `opensCampaign` for a new one.
        public init(template: String, messages contents: some Sequence<String>, opensCampaign: Bool) {
            campaigns = opensCampaign ? 1 : 0
            var count = 0
            var bytes = template.utf8.count
            for content in contents {
                count += 1
                bytes += content.utf8.count
            }
            self.messages = count
            self.bytes = bytes
        }

        /// What several schedules store together.
        public static func total(_ schedules: [Usage]) -> Usage {
            schedules.reduce(Usage(campaigns: 0, messages: 0, bytes: 0)) {
                Usage(campaigns: $0.campaigns + $1.campaigns, messages: $0.messages + $1.messages, bytes: $0.bytes + $1.bytes)
            }
        }
    }

    /// The error for a user whose usage plus `adding` would pass this quota; `nil` when it fits.
    public func excess(current: Usage, adding: Usage) -> DomainError? {
        if adding.campaigns > 0, current.campaigns + adding.campaigns > campaigns {
            return .overQuota(
                code: "quota_campaigns", message: "You have \(current.campaigns) campaigns, the most this server allows "
                    + "(\(campaigns)); delete finished ones to create more", isSize: false)
        }
        if current.messages + adding.messages > messages {
            return .overQuota(
                code: "quota_messages", message: "This would store \(current.messages + adding.messages) messages for you, "
                    + "more than this server allows (\(messages))", isSize: false)
        }
        if current.bytes + adding.bytes > bytes {
            return .overQuota(
                code: "quota_bytes", message: "This would store \((current.bytes + adding.bytes) >> 20) MB of text for you, "
                    + "more than this server allows (\(bytes >> 20) MB)", isSize: true)
        }
        return nil
    }
}

extension UserQuota.Usage {
    public init(campaigns: Int, messages: Int, bytes: Int) {
        self.campaigns = campaigns
        self.messages = messages
        self.bytes = bytes
    }
}
