import CrierCore
import CrierStorage
import CrierTestSupport
import Foundation

/// A fresh database for one run: a SQLite file in a temporary folder, or a new schema on the
/// PostgreSQL server the benchmark was given. Seeded directly through the Store (fast, and not what
/// is measured), then handed to the server child by location.
struct BenchDatabase: Sendable {
    /// As `crier serve --database` takes it.
    let location: String
    let store: any StoreTestSeam

    static func fresh(postgres base: String?) async throws -> BenchDatabase {
        let location: String
        if let base {
            location = try await TestBackend.freshPostgresURL(base: base)
        } else {
            location = try await TestBackend.sqlite.makeDatabaseLocation()
        }
        return BenchDatabase(location: location, store: try await TestBackend.openStore(at: location))
    }

    func remove() { TestBackend.removeDatabase(at: location) }
}

/// An account ready for API calls: the user, a bearer token, and its sessions.
struct BenchAccount: Sendable {
    let user: User
    let token: String
    let sessions: [WhatsAppSession]

    var authorization: String { "Bearer \(token)" }

    static func create(in store: any Store, email: String, sessions count: Int, at now: Date) async throws -> BenchAccount {
        let user = try await store.createUser(email: email, name: nil, passwordHash: "not-used", isAdmin: false, at: now)
        let token = APIToken.generate()
        _ = try await store.addAPIToken(userId: user.id, label: "bench", tokenHash: APIToken.hash(token), at: now)
        var sessions: [WhatsAppSession] = []
        for index in 0..<count {
            sessions.append(try await store.registerSession(name: "\(user.publicId)-\(index)", ownerId: user.id, at: now).session)
        }
        return BenchAccount(user: user, token: token, sessions: sessions)
    }

    /// One-message campaigns, message `i` due at `due[i]` on session `i % sessions` with the text
    /// `"bench message i"`; stored in one transaction per session.
    func seedOneMessageCampaigns(in store: any Store, due: [Date], at now: Date) async throws {
        var bySession = [[NewCampaign]](repeating: [], count: sessions.count)
        for (index, instant) in due.enumerated() {
            let session = sessions[index % sessions.count]
            let day = LocalDate(dayNumber: Int((instant.timeIntervalSince1970 / 86_400).rounded(.down)))
            var input = Fixtures.campaignInput(sessionId: session.id, start: day.description, end: day.description)
            input.messageTemplate = "bench message \(index)"
            input.isFreeForm = true
            let settings = try CampaignValidator().validate(input)
            let message = PlannedMessage(
                occurrenceIndex: 0, occurrenceDate: day, scheduledAt: instant, daysLeft: 0, content: "bench message \(index)")
            bySession[index % sessions.count].append(NewCampaign(settings: settings, messages: [message]))
        }
        for (session, campaigns) in zip(sessions, bySession) where !campaigns.isEmpty {
            _ = try await store.createCampaigns(ownerId: user.id, sessionIdOrName: session.id, campaigns, at: now)
        }
    }
}

/// The text the double receives for seeded message `index`, read back to its index.
func seededIndex(ofText text: String) -> Int? {
    text.hasPrefix("bench message ") ? Int(text.dropFirst("bench message ".count)) : nil
}
