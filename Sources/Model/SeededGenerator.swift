/// A small, fast, seedable random number generator (xoshiro256**, seeded via
/// SplitMix64). The same seed always yields the same sequence, on every
/// platform; this is what makes scheduling decisions replayable.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }
}

extension RandomNumberGenerator {
    /// A random identifier in the UUID textual form (version 4 layout),
    /// drawn from this generator: deterministic for a seeded generator.
    public mutating func nextUUIDString() -> String {
        let a = next()
        let b = next()
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: 0, count: 36)
        var i = 0
        func put(_ value: UInt64, _ nibbles: Int) {
            var shift = (nibbles - 1) * 4
            for _ in 0..<nibbles {
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    bytes[i] = UInt8(ascii: "-")
                    i += 1
                }
                bytes[i] = hex[Int((value >> UInt64(shift)) & 0xF)]
                i += 1
                shift -= 4
            }
        }
        // 8-4-4-4-12 with version nibble 4 and variant 10xx.
        put(a >> 32, 8)
        put((a >> 16) & 0xFFFF, 4)
        put(0x4000 | (a & 0x0FFF), 4)
        put(0x8000 | ((b >> 48) & 0x3FFF), 4)
        put(b & 0xFFFF_FFFF_FFFF, 12)
        return String(decoding: bytes, as: UTF8.self)
    }
}
