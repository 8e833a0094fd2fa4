#!/usr/bin/env bash
# Fails when a library product could not be used by a package that depends on
# Caravan by version: SwiftPM refuses any product with a target (or a target
# it depends on) that has unsafe flags, whatever their condition. Package.swift
# adds some only when CARAVAN_OPTIMIZE_CORE is set, so this reads the manifest
# without it.
set -euo pipefail
cd "$(dirname "$0")/.."
env -u CARAVAN_OPTIMIZE_CORE "${SWIFT:-swift}" package dump-package | python3 -c '
import json, sys
package = json.load(sys.stdin)
targets = {t["name"]: t for t in package["targets"]}
def unsafe(name, seen):
    if name in seen or name not in targets: return []
    seen.add(name)
    target = targets[name]
    found = [name] if any("unsafeFlags" in s["kind"] for s in target.get("settings") or []) else []
    for dependency in target.get("dependencies", []):
        for kind in ("byName", "target"):
            if kind in dependency: found += unsafe(dependency[kind][0], seen)
    return found
problems = []
for product in package["products"]:
    if "library" not in product["type"]: continue
    seen = set()
    for target in product["targets"]:
        for name in unsafe(target, seen):
            problems.append("product %s: target %s has unsafe flags" % (product["name"], name))
if problems:
    print("check-dependable: a package depending on Caravan by version could not use these:", *problems, sep="\n  ")
    sys.exit(1)
libraries = [p["name"] for p in package["products"] if "library" in p["type"]]
print("check-dependable: no unsafe flags in the %d library products" % len(libraries))
'
