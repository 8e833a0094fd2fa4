import Foundation
import Testing
import Model

/// SpecValue's own JSON reader and writer: round trips, agreement with the
/// Codable path it stands in for, and precise refusals of malformed text.
@Suite struct SpecValueJSONTests {
    /// A random tree whose maps have unique keys in sorted order (as the reader returns them).
    static func randomTree(_ rng: inout SeededGenerator, depth: Int = 0) -> SpecValue {
        let kind = depth > 3 ? Int.random(in: 0..<5, using: &rng) : Int.random(in: 0..<7, using: &rng)
        switch kind {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int.random(in: Int.min...Int.max, using: &rng))
        case 3:
            let choices: [Double] = [0.1, -2.5e-7, 1e300, 3.0, .infinity, -.infinity, Double.random(in: -1e6...1e6, using: &rng)]
            return .double(choices.randomElement(using: &rng)!)
        case 4: return .string(randomString(&rng))
        case 5: return .list((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomTree(&rng, depth: depth + 1) })
        default:
            var keys = Set<String>()
            for _ in 0..<Int.random(in: 0...4, using: &rng) { keys.insert(randomString(&rng)) }
            return .map(keys.sorted().map { ($0, randomTree(&rng, depth: depth + 1)) })
        }
    }

    static func randomString(_ rng: inout SeededGenerator) -> String {
        let pieces = ["a", "Z", "9", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{1F}", "é", "日本", "🚀", "${NOMAD_ALLOC_ID}"]
        return (0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
    }

    @Test(arguments: [UInt64(1), 2, 3, 99, 2_026])
    func writtenTextReadsBackAsTheSameTree(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for i in 0..<300 {
            let tree = Self.randomTree(&rng)
            let back = try SpecValue(json: tree.jsonText.utf8)
            #expect(back == tree, "seed \(seed), tree \(i): \(tree.jsonText)")
        }
    }

    @Test func mapsComeOutSortedByKey() throws {
        let value = try SpecValue(json: #"{"b": 1, "a": {"z": true, "c": null}}"#.utf8)
        #expect(value == .map([("a", .map([("c", .null), ("z", .bool(true))])), ("b", .int(1))]))
    }

    @Test func escapesAndNumbersReadAsJSONSays() throws {
        let value = try SpecValue(json: #"["\u00e9\ud83d\ude80\n\/", -0, 12, 1.5, 2e3, -1E-2]"#.utf8)
        #expect(value == .list([.string("é🚀\n/"), .int(0), .int(12), .double(1.5), .double(2000), .double(-0.01)]))
    }

    /// The reader stands in for Foundation's JSONDecoder on the Codable path:
    /// for every example job's document, both give the same tree and spec.
    @Test(arguments: ExampleJobTests.exampleFiles)
    func agreesWithTheCodablePathOnEveryExampleJob(file: String) throws {
        let text = try String(contentsOf: ExampleJobTests.jobsDirectory.appendingPathComponent(file), encoding: .utf8)
        let spec = try JobSpec.parse(yaml: text)
        let data = try JSONEncoder().encode(spec)
        let viaCodable = try JSONDecoder().decode(SpecValue.self, from: data)
        let viaReader = try SpecValue(json: data)
        #expect(viaReader == viaCodable)
        #expect(try JobSpec(document: viaReader) == JSONDecoder().decode(JobSpec.self, from: data))
        #expect(try JobSpec(document: SpecValue(json: spec.specValue.jsonText.utf8)) == spec)
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var text: String
        var message: String
        var testDescription: String { text.count > 30 ? String(text.prefix(30)) + "…" : text }
    }

    @Test(arguments: [
        Malformed(text: "", message: "unexpected end of the text at line 1, column 1"),
        Malformed(text: "{", message: "expected a key in quotes"),
        Malformed(text: "[1,]", message: "unexpected character ']'"),
        Malformed(text: #"{"a": 1, "a": 2}"#, message: #"the key "a" appears twice"#),
        Malformed(text: "nul", message: "unexpected end of the text"),
        Malformed(text: #""\x""#, message: #"unknown escape '\x'"#),
        Malformed(text: "{\"a\":\n  01}", message: "expected ',' or '}' in a map at line 2, column 4"),
        Malformed(text: "\"a\u{01}\"", message: "a control character inside a string must be escaped"),
        Malformed(text: #""\ud800""#, message: "not followed by its low surrogate"),
        Malformed(text: "1 2", message: "unexpected text after the document"),
        Malformed(text: String(repeating: "[", count: 10_000), message: "nest deeper than 128 levels"),
    ])
    func malformedTextIsRefusedWithWhereAndWhy(_ c: Malformed) {
        do {
            let value = try SpecValue(json: c.text.utf8)
            Issue.record("accepted \(c.text.prefix(40)) as \(value)")
        } catch {
            #expect("\(error)".contains(c.message), "\(error)")
        }
    }
}
