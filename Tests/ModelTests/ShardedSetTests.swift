import Model
import Testing

/// `ShardedSet` behaves as a `Set` does, through every change and across its
/// split from one shard into many, and a copy is a value.
@Suite struct ShardedSetTests {
    @Test func agreesWithSetThroughRandomChanges() {
        let seed = UInt64.random(in: 1 ... .max)
        print("ShardedSetTests seed \(seed)")
        var rng = SeededGenerator(seed: seed)
        var sharded: ShardedSet<String> = []
        var plain: Set<String> = []
        // Inserts outnumber removals, so the set grows through its split.
        for _ in 0..<6_000 {
            let element = "e\(Int.random(in: 0..<1_500, using: &rng))"
            if Int.random(in: 0..<3, using: &rng) == 0 {
                #expect(sharded.remove(element) == plain.remove(element))
            } else {
                #expect(sharded.insert(element).inserted == plain.insert(element).inserted)
            }
            #expect(sharded.count == plain.count)
            #expect(sharded.contains(element) == plain.contains(element))
        }
        #expect(plain.count > 512, "the set never grew past one shard")
        #expect(Set(sharded) == plain)
        #expect(ShardedSet(plain) == sharded)
        for element in plain.prefix(100) { #expect(sharded.remove(element) != nil) }
        #expect(sharded.count == plain.count - min(100, plain.count))
    }

    @Test func aCopyIsUnaffectedByChangesToTheOriginal() {
        var original: ShardedSet<Int> = [1, 2]
        let small = original
        for i in 3...1_000 { original.insert(i) }
        let large = original
        original.remove(1)
        original.insert(1_001)
        #expect(small == [1, 2] && small.count == 2)
        #expect(large.count == 1_000 && large.contains(1) && !large.contains(1_001))
        #expect(original.count == 1_000 && !original.contains(1) && original.contains(1_001))
        #expect(large != original)
        #expect(ShardedSet<Int>().isEmpty && !original.isEmpty)
    }
}
