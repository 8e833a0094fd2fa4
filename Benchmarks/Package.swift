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
    ],
    targets: [
        .executableTarget(
            name: "RaftThroughput",
            dependencies: [.product(name: "RaftCore", package: "Caravan")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
