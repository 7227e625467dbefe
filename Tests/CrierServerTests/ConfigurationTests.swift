import CrierServer
import Testing

@Suite("Server configuration")
struct ConfigurationTests {
    @Test("embedded defaults")
    func defaults() throws {
        let configuration = try ServerConfiguration.resolve(environment: [:])
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8080)
        #expect(configuration.database == .sqlite(path: "crier.sqlite"))
        #expect(configuration.defaultTimeZone == "UTC")
        #expect(configuration.logLevel == .info)
    }

    @Test("environment variables apply; flags win over them")
    func precedence() throws {
        let environment = [
            "CRIER_BIND": "0.0.0.0:9000", "CRIER_DATABASE_URL": "sqlite:/tmp/x.sqlite",
            "CRIER_DEFAULT_TIME_ZONE": "Africa/Nairobi", "CRIER_LOG_LEVEL": "debug",
        ]
        let fromEnvironment = try ServerConfiguration.resolve(environment: environment)
        #expect(fromEnvironment.host == "0.0.0.0" && fromEnvironment.port == 9000)
        #expect(fromEnvironment.database == .sqlite(path: "/tmp/x.sqlite"))
        #expect(fromEnvironment.defaultTimeZone == "Africa/Nairobi")
        #expect(fromEnvironment.logLevel == .debug)
        let fromFlags = try ServerConfiguration.resolve(
            bind: "[::1]:8081", database: "other.sqlite", defaultTimeZone: "Europe/London", logLevel: "error",
            environment: environment)
        #expect(fromFlags.host == "::1" && fromFlags.port == 8081)
        #expect(fromFlags.database == .sqlite(path: "other.sqlite"))
        #expect(fromFlags.defaultTimeZone == "Europe/London")
        #expect(fromFlags.logLevel == .error)
    }

    @Test("webhook secret (environment only, 16+ characters), public URL, lease")
    func webhookAndLease() throws {
        let configuration = try ServerConfiguration.resolve(
            ServeFlags(publicURL: "https://crier.example.org/", lease: "45s"),
            environment: ["CRIER_WEBHOOK_SECRET": "sixteen-chars!!!"])
        #expect(configuration.webhookSecret == "sixteen-chars!!!")
        #expect(configuration.publicURL == "https://crier.example.org")
        #expect(configuration.dispatcher.leaseDuration == 45)
    }

    @Test("database locations", arguments: [
        ("crier.sqlite", DatabaseLocation.sqlite(path: "crier.sqlite")),
        ("sqlite:/var/lib/crier.db", .sqlite(path: "/var/lib/crier.db")),
        ("postgres://u:p@h/db", .postgres(url: "postgres://u:p@h/db")),
        ("postgresql://h/db", .postgres(url: "postgresql://h/db")),
    ])
    func databaseLocations(_ text: String, _ expected: DatabaseLocation) throws {
        #expect(try DatabaseLocation(text) == expected)
    }

    @Test("bad values are errors naming the setting", arguments: [
        ["CRIER_BIND": "8080"], ["CRIER_BIND": "host:99999"], ["CRIER_DEFAULT_TIME_ZONE": "EAT"],
        ["CRIER_LOG_LEVEL": "loud"], ["CRIER_DATABASE_URL": "sqlite:"],
        ["CRIER_WEBHOOK_SECRET": "fifteen-chars!!"], ["CRIER_PUBLIC_URL": "crier.example.org"],
        ["CRIER_LEASE": "0s"],
    ])
    func badValues(_ environment: [String: String]) {
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.resolve(environment: environment) }
    }
}
