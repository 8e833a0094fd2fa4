import Foundation
import Testing
@testable import Model

/// The canonical rendering behind group fingerprints: a fingerprint an
/// allocation carries must not change when the code that computes it does,
/// or every allocation would look changed and be replaced.
@Suite struct CanonicalTextTests {
    /// The rendering as it was first written (strings built whole, maps sorted
    /// by copying, escapes found Character by Character): what the fingerprints
    /// of allocations already placed were computed from.
    static func reference(_ value: SpecValue) -> String {
        func escaped(_ s: String) -> String {
            var out = ""
            for ch in s {
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                default: out.append(ch)
                }
            }
            return out
        }
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return "\"" + escaped(s) + "\""
        case .list(let items): return "[" + items.map(reference).joined(separator: ",") + "]"
        case .map(let pairs):
            return "{" + pairs.sorted(by: { $0.key < $1.key }).map { "\"" + escaped($0.key) + "\":" + reference($0.value) }
                .joined(separator: ",") + "}"
        }
    }

    static func fnv(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// A tree with its maps' keys out of order, as specifications write them.
    static func unsorted(_ value: SpecValue) -> SpecValue {
        switch value {
        case .list(let items): .list(items.map(unsorted))
        case .map(let pairs): .map(pairs.reversed().map { ($0.key, unsorted($0.value)) })
        default: value
        }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func renderingAndItsHashMatchTheFirstRendering(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for i in 0..<300 {
            let tree = Self.unsorted(SpecValueJSONTests.randomTree(&rng))
            let expected = Self.reference(tree)
            #expect(tree.canonicalText == expected, "seed \(seed), tree \(i)")
            var hash = FNV1a()
            tree.render(into: &hash)
            #expect(hash.value == Self.fnv(expected), "seed \(seed), tree \(i)")
        }
    }

    @Test func graphemesThatHoldAnEscapedCharacterAreLeftAsTheyWere() {
        // "\r\n" is one Character, and so is a quote with a combining accent:
        // neither is escaped, as the first rendering did not escape them.
        for text in ["\r\n", "\"\u{301}", "a\nb", "\\", "plain", "日本\"🚀", ""] {
            #expect(SpecValue.string(text).canonicalText == Self.reference(.string(text)), "\(text.debugDescription)")
        }
    }

    @Test func exampleGroupFingerprintsAreUnchanged() throws {
        for file in ExampleJobTests.exampleFiles {
            let text = try String(contentsOf: ExampleJobTests.jobsDirectory.appendingPathComponent(file), encoding: .utf8)
            let spec = try JobSpec.parse(yaml: text)
            for group in spec.groups {
                var w = SpecWriter()
                w.put("tasks", group.tasks)
                w.put("constraints", group.constraints)
                w.put("restart", group.restart)
                w.put("meta", group.meta)
                #expect(group.fingerprint == Self.fnv(Self.reference(w.value)), "\(file) \(group.name)")
            }
        }
    }
}
