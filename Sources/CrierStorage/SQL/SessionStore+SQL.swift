import CrierCore
import Foundation

/// WhatsApp sessions in SQL both back ends run as written.
package enum SessionSQL {
    static let register: SharedStatement = """
        INSERT INTO whatsapp_sessions (public_id, owner_id, name, created_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (name) DO NOTHING RETURNING \(WhatsAppSession.columns)
        """
    static let byName: SharedStatement = "SELECT \(WhatsAppSession.columns) FROM whatsapp_sessions WHERE name = $1"
    static let owner: SharedStatement = "SELECT owner_id FROM whatsapp_sessions WHERE name = $1"
    static let owners: SharedStatement =
        "SELECT \(WhatsAppSession.columns) FROM whatsapp_sessions WHERE owner_id = $1 ORDER BY id"
    static let statuses: SharedStatement = """
        SELECT public_id, gateway_status FROM whatsapp_sessions WHERE owner_id = $1 AND gateway_status IS NOT NULL
        """
    /// The owner's (`$1`) session with this public id or, failing that, this gateway name (`$2`).
    private static let ownersByIdOrName =
        "FROM whatsapp_sessions WHERE owner_id = $1 AND (public_id = $2 OR name = $2) ORDER BY public_id = $2 DESC LIMIT 1"
    static let byIdOrName = SharedStatement("SELECT \(WhatsAppSession.columns) \(ownersByIdOrName)")
    /// That session's row id, for a campaign to refer to.
    package static let rowIdByIdOrName = SharedStatement("SELECT id \(ownersByIdOrName)")
    /// Changes the status only when it differs, naming the owner whose pages then refresh.
    static let recordStatus: SharedStatement = """
        UPDATE whatsapp_sessions SET gateway_status = $1 WHERE name = $2 AND gateway_status IS DISTINCT FROM $1
        RETURNING owner_id
        """
}

extension SessionStore where Self: SQLBackend & DispatchStore {
    public func registerSession(name: String, ownerId: Int64, at: Date) async throws -> (session: WhatsAppSession, created: Bool) {
        let results = try await transaction([
            SQLStep(SessionSQL.register, [.text(RandomPublicId.uuid()), .int(ownerId), .text(name), SQLValue(at)]),
            SQLStep(SessionSQL.byName, [.text(name)]),
        ])
        if let row = results.first?.rows.first { return (try WhatsAppSession(row: row), true) }
        guard let row = results.last?.rows.first else { throw DomainError.sessionNameTaken }
        let existing = try WhatsAppSession(row: row)
        guard existing.ownerId == ownerId else { throw DomainError.sessionNameTaken }
        return (existing, false)
    }

    public func sessionOwner(name: String) async throws -> Int64? {
        try await firstRow(SessionSQL.owner, [.text(name)])?.int64(0)
    }

    public func sessions(ownerId: Int64) async throws -> [WhatsAppSession] {
        try await rows(SessionSQL.owners, [.int(ownerId)]).map { try WhatsAppSession(row: $0) }
    }

    public func sessionStatuses(ownerId: Int64) async throws -> [String: String] {
        var statuses: [String: String] = [:]
        for row in try await rows(SessionSQL.statuses, [.int(ownerId)]) { statuses[try row.text(0)] = try row.text(1) }
        return statuses
    }

    public func session(idOrName: String, ownerId: Int64) async throws -> WhatsAppSession? {
        try await firstRow(SessionSQL.byIdOrName, [.int(ownerId), .text(idOrName)]).map { try WhatsAppSession(row: $0) }
    }

    public func recordSessionStatus(name: String, status: String) async throws {
        let changed = try await transaction([SQLStep(SessionSQL.recordStatus, [.text(status), .text(name)])])
        if let owner = try changed.first?.rows.first?.int64(0) { await changes.announce(.activity(ownerId: owner)) }
    }
}
