import CrierStorage
import Logging
import PostgresNIO

/// Changes shared by every instance on the database: `NOTIFY crier_changes` to announce, one pooled
/// connection per follower `LISTEN`ing. A dropped connection is re-listened after a second; what
/// was announced meanwhile is covered by the dispatcher's periodic re-check.
final class PostgresChangeFeed: ChangeFeed {
    static let channel = "crier_changes"
    let client: PostgresClient
    let logger: Logger

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    func announce(_ change: StoreChange) async {
        do {
            try await client.query("SELECT pg_notify(\(Self.channel), \(change.payload))", logger: logger)
        } catch {
            logger.debug("Could not announce a change", metadata: ["change": "\(change.payload)", "error": "\(error)"])
        }
    }

    func follow(_ onChange: @escaping @Sendable (StoreChange) -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        for try await notification in notifications {
                            if let change = StoreChange(payload: notification.payload) { onChange(change) }
                        }
                    }
                }
            } catch {
                guard !Task.isCancelled else { return }
                logger.warning("Change feed lost its connection; listening again", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
