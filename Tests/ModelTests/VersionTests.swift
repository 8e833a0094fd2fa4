import Testing
import Model

@Suite struct VersionRequirementTests {
    @Test(arguments: [
        (">= 1.2, < 2.0", "1.2.0", true),
        (">= 1.2, < 2.0", "1.10.3", true),
        (">= 1.2, < 2.0", "2.0.0", false),
        ("~> 1.4", "1.9", true),
        ("~> 1.4", "2.0", false),
        ("~> 1.4.2", "1.4.9", true),
        ("~> 1.4.2", "1.5.0", false),
        ("= 1.0", "v1.0.0", true),
        ("!= 1.0", "1.0.1", true),
        (">= 1.0", "1.1.0-beta", false),
    ])
    func lenientVersions(requirement: String, version: String, expected: Bool) throws {
        let r = try #require(VersionRequirement(requirement))
        let v = try #require(Version(version))
        #expect(r.isSatisfied(by: v) == expected)
    }

    @Test func semverOrdersPrereleases() throws {
        let r = try #require(VersionRequirement(">= 1.0.0-alpha.2", strict: true))
        #expect(r.isSatisfied(by: try #require(Version("1.0.0-beta", strict: true))))
        #expect(r.isSatisfied(by: try #require(Version("1.0.0-alpha.10", strict: true))))
        #expect(!r.isSatisfied(by: try #require(Version("1.0.0-alpha.1", strict: true))))
        #expect(Version("1.0", strict: true) == nil)
    }
}

@Suite struct SeededGeneratorTests {
    @Test func sameSeedSameSequence() {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        var c = SeededGenerator(seed: 43)
        let xs = (0..<8).map { _ in a.next() }
        #expect(xs == (0..<8).map { _ in b.next() })
        #expect(xs != (0..<8).map { _ in c.next() })
    }

    @Test func uuidStringsHaveUUIDShape() {
        var g = SeededGenerator(seed: 1)
        let id = g.nextUUIDString()
        #expect(id.count == 36)
        #expect(id.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        var g2 = SeededGenerator(seed: 1)
        #expect(g2.nextUUIDString() == id)
    }
}
