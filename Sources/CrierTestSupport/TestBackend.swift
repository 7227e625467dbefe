import CrierCore
import CrierPostgres
import CrierStorage
import Foundation

/// The storage back ends a test runs on: SQLite always, PostgreSQL when `CRIER_TEST_POSTGRES_URL`
/// names a server (CI starts one). Each store a test makes is fresh: an in-memory SQLite database,
/// or a schema of its own in PostgreSQL.
public enum TestBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// The server tests may use, from `CRIER_TEST_POSTGRES_URL`.
    public static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment["CRIER_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// The back ends available here; says once why PostgreSQL is not among them. With
    /// `CRIER_REQUIRE_POSTGRES=1` (CI) PostgreSQL is always among them, so a missing server fails.
    public static let available: [TestBackend] = {
        guard postgresURL != nil || ProcessInfo.processInfo.environment["CRIER_REQUIRE_POSTGRES"] == "1" else {
            print("PostgreSQL tests skipped: set CRIER_TEST_POSTGRES_URL=postgres://… to run them (CI does)")
            return [.sqlite]
        }
        return [.sqlite, .postgres]
    }()

    /// The back end the dispatcher, HTTP and dashboard harnesses use: `CRIER_TEST_STORE=postgres`
    /// runs those suites on PostgreSQL (CI runs them both ways); SQLite otherwise.
    public static var harnessBackend: TestBackend {
        ProcessInfo.processInfo.environment["CRIER_TEST_STORE"] == "postgres" ? .postgres : .sqlite
    }

    /// Where a harness's server keeps its data: a new SQLite file (`sqlite:PATH`) or a new PostgreSQL
    /// schema (its URL), as `--database` takes it.
    public func makeDatabaseLocation() async throws -> String {
        switch self {
        case .sqlite:
            "sqlite:" + FileManager.default.temporaryDirectory.appendingPathComponent("crier-test-\(UUID()).sqlite").path
        case .postgres:
            try await Self.freshPostgresURL()
        }
    }

    /// A store on a location from `makeDatabaseLocation`, migrated.
    public static func openStore(at location: String) async throws -> any StoreTestSeam {
        let store: any StoreTestSeam =
            location.hasPrefix("sqlite:")
            ? try SQLiteStore.open(path: String(location.dropFirst("sqlite:".count)))
            : try PostgresStore.open(url: location)
        try await store.migrate()
        return store
    }

    /// Removes what `makeDatabaseLocation` made on disk (a PostgreSQL schema is left to the
    /// throwaway server).
    public static func removeDatabase(at location: String) {
        guard location.hasPrefix("sqlite:") else { return }
        let path = String(location.dropFirst("sqlite:".count))
        for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// A fresh, migrated store; `quota` is what each user may keep.
    public func makeStore(quota: UserQuota = .unlimited) async throws -> any StoreTestSeam {
        switch self {
        case .sqlite:
            let store = try SQLiteStore.inMemory(quota: quota)
            try await store.migrate()
            return store
        case .postgres:
            let store = try PostgresStore.open(url: try await Self.freshPostgresURL(), quota: quota)
            try await store.migrate()
            return store
        }
    }

    /// The URL of a new, empty schema on the test server (`search_path` names it).
    public static func freshPostgresURL() async throws -> String {
        guard let base = postgresURL else { throw TestBackendError("CRIER_TEST_POSTGRES_URL is not set") }
        return try await freshPostgresURL(base: base)
    }

    /// The URL of a new, empty schema on the server at `base`.
    public static func freshPostgresURL(base: String) async throws -> String {
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await PostgresStore.createSchema(schema, url: base)
        return base + (base.contains("?") ? "&" : "?") + "search_path=\(schema)"
    }
}

public struct TestBackendError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
