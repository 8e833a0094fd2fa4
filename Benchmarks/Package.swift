// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so that `swift build` / `swift test`
// of Caravan never compiles them. Run one with
//   cd Benchmarks && swift run -c release <name>
// Each prints its figures with the baseline it measured in the same run.
let package = Package(
    name: "CaravanBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Caravan", path: ".."),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
    ],
    targets: [
        .executableTarget(
            name: "RaftThroughput",
            dependencies: [.product(name: "RaftCore", package: "Caravan")]
        ),
        .executableTarget(
            name: "DriverLatency",
            dependencies: [.product(name: "Executor", package: "Caravan")],
            exclude: ["empty.wat"]
        ),
        .executableTarget(
            name: "StorageThroughput",
            dependencies: [.product(name: "Storage", package: "Caravan"), .product(name: "RaftCore", package: "Caravan")]
        ),
        .executableTarget(
            name: "TransportThroughput",
            dependencies: [.product(name: "Transport", package: "Caravan"), .product(name: "RaftCore", package: "Caravan")]
        ),
        .target(name: "BenchmarkSupport", dependencies: [.product(name: "LoopbackPorts", package: "Caravan"),
                                                         .product(name: "Transport", package: "Caravan")]),
        .executableTarget(
            name: "ClusterThroughput",
            dependencies: ["BenchmarkSupport", .product(name: "API", package: "Caravan"), .product(name: "Model", package: "Caravan"),
                           .product(name: "Transport", package: "Caravan")]
        ),
        .executableTarget(
            name: "RegistrationThroughput",
            dependencies: ["BenchmarkSupport", .product(name: "API", package: "Caravan"), .product(name: "GRPCCore", package: "grpc-swift-2"),
                           .product(name: "Transport", package: "Caravan")]
        ),
        .executableTarget(
            name: "CodingThroughput",
            dependencies: [.product(name: "API", package: "Caravan"), .product(name: "Model", package: "Caravan")]
        ),
        .executableTarget(
            name: "StateUnderReaders",
            dependencies: [.product(name: "Scheduler", package: "Caravan"), .product(name: "Model", package: "Caravan")]
        ),
        .executableTarget(
            name: "SchedulerPlacement",
            dependencies: [.product(name: "Scheduler", package: "Caravan"), .product(name: "Model", package: "Caravan")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
