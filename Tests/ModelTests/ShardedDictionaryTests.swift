import Model
import Testing

/// `ShardedDictionary` behaves as a `Dictionary` does, through every change,
/// and a copy is a value: changes to one never show in the other.
@Suite struct ShardedDictionaryTests {
    @Test func agreesWithDictionaryThroughRandomChanges() {
        let seed = UInt64.random(in: 1 ... .max)
        print("ShardedDictionaryTests seed \(seed)")
        var rng = SeededGenerator(seed: seed)
        var sharded: ShardedDictionary<String, Int> = [:]
        var plain: [String: Int] = [:]
        for step in 0..<5_000 {
            let key = "k\(Int.random(in: 0..<700, using: &rng))"
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: #expect(sharded.removeValue(forKey: key) == plain.removeValue(forKey: key))
            case 1: sharded[key] = nil; plain[key] = nil
            case 2: sharded[key, default: 0] += step; plain[key, default: 0] += step
            case 3: sharded[key]? -= step; plain[key]? -= step
            default: #expect(sharded.updateValue(step, forKey: key) == plain.updateValue(step, forKey: key))
            }
            #expect(sharded.count == plain.count)
        }
        #expect(sharded.isEmpty == plain.isEmpty)
        for (key, value) in plain { #expect(sharded[key] == value) }
        #expect(Dictionary(uniqueKeysWithValues: sharded.map { ($0.key, $0.value) }) == plain)
        #expect(Set(sharded.keys) == Set(plain.keys))
        #expect(sharded.values.sorted() == plain.values.sorted())
        #expect(ShardedDictionary(plain.map { ($0.key, $0.value) }) == sharded)
    }

    @Test func aCopyIsUnaffectedByChangesToTheOriginal() {
        var original: ShardedDictionary<Int, String> = [1: "one", 2: "two"]
        original.reserveCapacity(1_000)
        let copy = original
        original[1] = "uno"
        original[3] = "three"
        original.removeValue(forKey: 2)
        #expect(copy[1] == "one" && copy[2] == "two" && copy[3] == nil && copy.count == 2)
        #expect(original[1] == "uno" && original[2] == nil && original[3] == "three" && original.count == 2)
        #expect(copy != original)
    }
}
