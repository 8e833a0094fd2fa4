// swift-tools-version: 6.1
import PackageDescription

/// Settings every Caravan target shares: Swift 6 language mode with strict
/// concurrency, and the upcoming features the style guide asks for.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// RaftCore and its simulation are compiled with optimization even in debug
/// builds: the simulation runs millions of steps, about twenty times faster so.
let optimized: [SwiftSetting] = strict + [.unsafeFlags(["-O"], .when(configuration: .debug))]

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
        .executable(name: "caravand", targets: ["ServerApp"]),
        .executable(name: "caravan", targets: ["CLIApp"]),
        .executable(name: "replicated-kv", targets: ["ReplicatedKV"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Pure, deterministic Raft: no I/O, no clocks, no threads.
        .target(name: "RaftCore", swiftSettings: optimized),
        // The domain as plain Codable values: job specification, nodes, allocations.
        .target(name: "Model", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // Debian's librocksdb-dev, reached through its C API.
        .systemLibrary(name: "CRocksDB", pkgConfig: "rocksdb", providers: [.apt(["librocksdb-dev"])]),
        // Durable Raft log, hard state, snapshots and a node-local KV.
        .target(name: "Storage", dependencies: ["RaftCore", "CRocksDB"], swiftSettings: strict),
        // The wire: gRPC services and peer connections.
        .target(name: "Transport", dependencies: ["RaftCore"], swiftSettings: strict),
        // Pure placement and reconciliation: (state, job, evaluation, time) -> plan.
        .target(name: "Scheduler", dependencies: ["Model"], swiftSettings: strict),
        // Task drivers behind the TaskDriver protocol.
        .target(name: "Executor", dependencies: ["Model"], swiftSettings: strict),
        // The Swift client library for a cluster.
        .target(name: "API", dependencies: ["Model", "Transport"], swiftSettings: strict),
        // Composition: server role, client role, dev mode.
        .target(
            name: "Agent",
            dependencies: ["RaftCore", "Model", "Storage", "Transport", "Scheduler", "Executor", "API"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ServerApp",
            dependencies: ["Agent", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CLIApp",
            dependencies: ["API", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(name: "ReplicatedKV", dependencies: ["RaftCore"], path: "Examples/ReplicatedKV", swiftSettings: strict),

        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore"], swiftSettings: optimized),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "RaftCore"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
