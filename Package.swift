// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "crier",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "crier", targets: ["crier"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.4.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        /** Pure domain: campaign input validation, schedule expansion, message rendering, state rules. */
        .target(name: "CrierCore", exclude: ["README.md"]),
        /** The Store contract and its SQLite back end, with ordered migrations. */
        .target(
            name: "CrierStorage",
            dependencies: [
                "CrierCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["README.md"]
        ),
        /** The Store on PostgreSQL (PostgresNIO), with its own ordered migrations: several instances, one database. */
        .target(
            name: "CrierPostgres",
            dependencies: [
                "CrierCore",
                "CrierStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),
        /** The gateway protocol (sessions, sending), the WAHA client and the console gateway. */
        .target(
            name: "CrierGateway",
            dependencies: [
                "CrierCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),
        /** The operations every front end calls (campaigns, sessions, accounts), scoped to the caller. */
        .target(
            name: "CrierService",
            dependencies: [
                "CrierCore",
                "CrierStorage",
                "CrierGateway",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["README.md"]
        ),
        /** The dispatcher service: claims due messages, sends, reconciles, records every outcome. */
        .target(
            name: "CrierDispatch",
            dependencies: [
                "CrierCore",
                "CrierStorage",
                "CrierGateway",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["README.md"]
        ),
        /** JSON API controllers, auth middleware and error mapping over the campaign service. */
        .target(
            name: "CrierHTTP",
            dependencies: [
                "CrierCore",
                "CrierStorage",
                "CrierService",
                "CrierGateway",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["README.md"],
            resources: [.copy("openapi.yaml")]
        ),
        /** The browser dashboard: server-rendered pages over the same services and accounts as the API. */
        .target(
            name: "CrierWeb",
            dependencies: [
                "CrierCore",
                "CrierStorage",
                "CrierService",
                "CrierGateway",
                "CrierHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["README.md"],
            resources: [.copy("Templates"), .copy("Assets")]
        ),
        /** Composition root: configuration and buildApplication, the one place concrete types are chosen. */
        .target(
            name: "CrierServer",
            dependencies: [
                "CrierCore",
                "CrierStorage",
                "CrierService",
                "CrierGateway",
                "CrierDispatch",
                "CrierHTTP",
                "CrierWeb",
                "CrierPostgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            exclude: ["README.md"]
        ),
        /** The `crier` command line: serve, migrate, user, token. Thin. */
        .executableTarget(
            name: "crier",
            dependencies: [
                "CrierServer", "CrierCore", "CrierService", "CrierStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        /** Benchmarks, one sub-command per scenario; servers and the WAHA double run as child processes (BENCHMARKS.md). */
        .executableTarget(
            name: "crier-bench",
            dependencies: [
                "CrierCore", "CrierServer", "CrierStorage", "CrierTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/CrierBench"
        ),
        /** Shared test helpers: a manual clock, fixtures and the WAHA test double (a loopback HTTP server). */
        .target(
            name: "CrierTestSupport",
            dependencies: [
                "CrierCore",
                "CrierStorage",
                "CrierPostgres",
                "CrierService",
                "CrierGateway",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["README.md"]
        ),
        .testTarget(name: "CrierCoreTests", dependencies: ["CrierCore", "CrierTestSupport"]),
        .testTarget(
            name: "CrierGatewayTests",
            dependencies: [
                "CrierGateway", "CrierTestSupport", .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "CrierDispatchTests",
            dependencies: [
                "CrierDispatch", "CrierService", "CrierTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "CrierStorageTests",
            dependencies: ["CrierStorage", "CrierTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "CrierHTTPTests",
            dependencies: [
                "CrierHTTP", "CrierServer", "CrierService", "CrierGateway", "CrierTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
            ]
        ),
        .testTarget(
            name: "CrierWebTests",
            dependencies: [
                "CrierWeb", "CrierServer", "CrierService", "CrierStorage", "CrierTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "CrierServerTests",
            dependencies: [
                "CrierServer", "CrierService", "CrierStorage", "CrierTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
