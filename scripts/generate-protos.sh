#!/usr/bin/env bash
# Regenerates the Swift code for Protos/**/*.proto into Sources/Transport/Generated.
#
# The generated code is committed; CI does not run this. Run it after editing a
# .proto file, then commit the .proto and the generated files together.
#
# Needs:
#   - protoc from Debian:           apt-get install protobuf-compiler
#   - the two protoc plugins, built from the package mirror into a scratch
#     package outside the repository (the first run builds them, ~2 minutes):
#       protoc-gen-swift          (apple/swift-protobuf 1.39.0)
#       protoc-gen-grpc-swift-2   (grpc/grpc-swift-protobuf 2.4.1)
#     Set PLUGIN_DIR to reuse plugins built elsewhere (default /tmp/protoc-plugins).
#
# The GRPCProtobufGenerator build plugin is deliberately not used: it compiles
# protobuf's C++ sources on every clean build (~10 minutes).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
plugin_dir="${PLUGIN_DIR:-/tmp/protoc-plugins}"
out="$repo/Sources/Transport/Generated"

if ! command -v protoc >/dev/null 2>&1; then
    echo "protoc not found: apt-get install protobuf-compiler" >&2
    exit 1
fi

bin="$plugin_dir/.build/release"
if [ ! -x "$bin/protoc-gen-swift" ] || [ ! -x "$bin/protoc-gen-grpc-swift-2" ]; then
    echo "building protoc plugins in $plugin_dir"
    mkdir -p "$plugin_dir/Dummy"
    cat > "$plugin_dir/Package.swift" <<'SWIFT'
// swift-tools-version: 6.1
import PackageDescription
// Scratch package: builds the protoc plugins for scripts/generate-protos.sh.
let package = Package(
    name: "ProtocPlugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    ],
    targets: [.target(name: "Dummy", path: "Dummy")]
)
SWIFT
    echo "" > "$plugin_dir/Dummy/Dummy.swift"
    (cd "$plugin_dir" && swift build -c release --product protoc-gen-swift && swift build -c release --product protoc-gen-grpc-swift-2)
fi

rm -rf "$out"
mkdir -p "$out"
cd "$repo/Protos"
mapfile -t protos < <(find caravan -name '*.proto' | sort)
protoc \
    --proto_path=. \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
    --swift_out="$out" \
    --swift_opt=Visibility=Public \
    --grpc-swift-2_out="$out" \
    --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true \
    "${protos[@]}"
# Protos without services still get an empty .grpc.swift: drop those.
grep -rl --include='*.grpc.swift' "This file contained no services" "$out" | xargs -r rm
echo "generated $(find "$out" -name '*.swift' | wc -l) files from ${#protos[@]} protos into ${out#$repo/}"
