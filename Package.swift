// swift-tools-version: 6.1
import PackageDescription

/// Settings every Caravan target shares: Swift 6 language mode with strict
/// concurrency, and the upcoming features the style guide asks for.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// RaftCore and its simulation are compiled with optimization even in debug
/// builds when `CARAVAN_OPTIMIZE_CORE` is set, as `make test` sets it: the
/// simulation runs millions of steps, about twenty times faster so. Only then:
/// SwiftPM refuses a product built with unsafe flags to any package that
/// depends on it by version, and others import RaftCore.
let optimized: [SwiftSetting] = strict
    + (Context.environment["CARAVAN_OPTIMIZE_CORE"] == nil ? [] : [.unsafeFlags(["-O"], .when(configuration: .debug))])

let package = Package(
    name: "Caravan",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RaftCore", targets: ["RaftCore"]),
        .library(name: "Model", targets: ["Model"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "Transport", targets: ["Transport"]),
        .library(name: "Scheduler", targets: ["Scheduler"]),
        .library(name: "Executor", targets: ["Executor"]),
        .library(name: "API", targets: ["API"]),
        .library(name: "Agent", targets: ["Agent"]),
        .library(name: "LoopbackPorts", targets: ["LoopbackPorts"]),
        .executable(name: "caravand", targets: ["ServerApp"]),
        .executable(name: "caravan", targets: ["CLIApp"]),
        .executable(name: "replicated-kv", targets: ["ReplicatedKV"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", exact: "1.0.2"),
        .package(url: "https://github.com/swiftwasm/WasmKit.git", exact: "0.4.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
    ],
    targets: [
        // Pure, deterministic Raft: no I/O, no clocks, no threads.
        .target(name: "RaftCore", swiftSettings: optimized),
        // The domain as plain Codable values: job specification, nodes, allocations.
        .target(name: "Model", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // Debian's librocksdb-dev, reached through its C API.
        .systemLibrary(name: "CRocksDB", pkgConfig: "rocksdb", providers: [.apt(["librocksdb-dev"])]),
        // Linux's getdents64 for the Executor's directory removal.
        .systemLibrary(name: "CDirectoryEntries"),
        // Durable Raft log, hard state, snapshots and a node-local KV.
        .target(name: "Storage", dependencies: ["RaftCore", "CRocksDB"], swiftSettings: strict),
        // Test helper: appends to a store with sync, printing each acknowledged index, until killed.
        .executableTarget(name: "StorageCrashChild", dependencies: ["Storage", "RaftCore"], swiftSettings: strict),
        // The wire: gRPC services and peer connections.
        .target(
            name: "Transport",
            dependencies: [
                "RaftCore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Test helper: serves the Raft service over mTLS on a port it prints, counting what it receives.
        .executableTarget(name: "TransportTestPeer", dependencies: ["Transport", "RaftCore"], swiftSettings: strict),
        // Pure placement and reconciliation: (state, job, evaluation, time) -> plan.
        .target(name: "Scheduler", dependencies: ["Model"], swiftSettings: strict),
        // Task drivers behind the TaskDriver protocol.
        // (No Model dependency yet: the agent maps Model's task spec to `TaskSpec`.)
        .target(
            name: "Executor",
            dependencies: [
                "CDirectoryEntries",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WasmKitWASI", package: "WasmKit"),
                // Its file protocols, for the guests' standard streams.
                .product(name: "WASI", package: "WasmKit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        // A third-party driver, showing how to implement and register a `TaskDriver`.
        .target(name: "CustomDriverExample", dependencies: ["Executor"], path: "Examples/CustomDriver", swiftSettings: strict),
        // Test helper: starts a task the way an agent would, prints its handle, exits.
        .executableTarget(name: "ExecutorTestAgent", dependencies: ["Executor"], swiftSettings: strict),
        // The Swift client library for a cluster.
        .target(
            name: "API",
            dependencies: [
                "Model", "Transport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            swiftSettings: strict
        ),
        // Composition: server role, client role, dev mode.
        .target(
            name: "Agent",
            dependencies: [
                "RaftCore", "Model", "Storage", "Transport", "Scheduler", "Executor", "API",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ServerApp",
            dependencies: [
                "Agent", "Transport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CLIApp",
            dependencies: ["API", "Transport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(name: "ReplicatedKV", dependencies: ["RaftCore"], path: "Examples/ReplicatedKV", swiftSettings: strict),

        .target(name: "LoopbackPorts", swiftSettings: strict),

        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore"], swiftSettings: optimized),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "API", "RaftCore", "Storage", "Transport", "ServerApp", "LoopbackPorts",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
            ],
            exclude: ["Python"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "CLIApp", "ServerApp", "API", "Model", "Transport", "LoopbackPorts",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "RaftCore", "StorageCrashChild"], swiftSettings: strict),
        .testTarget(name: "ModelTests", dependencies: ["Model"], swiftSettings: strict),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "Model"], swiftSettings: strict),
        .testTarget(
            name: "ExecutorTests",
            dependencies: [
                "Executor", "CustomDriverExample", "ExecutorTestAgent",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "WAT", package: "WasmKit"),
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WasmKitWASI", package: "WasmKit"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TransportTests",
            dependencies: [
                "Transport", "RaftCore", "TransportTestPeer", "LoopbackPorts",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
