/// CRC-32C (Castagnoli), the checksum on every stored record and snapshot file.
/// Table-driven, slicing by 8 bytes.
enum CRC32C {
    /// Eight 256-entry tables, one after another, allocated once and never freed.
    private struct Tables: @unchecked Sendable {
        // Safety: written only while `shared` is initialized, read-only after.
        let base: UnsafePointer<UInt32>
    }

    private static let shared: Tables = {
        let tables = UnsafeMutablePointer<UInt32>.allocate(capacity: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[byte] = crc
        }
        for byte in 0..<256 {
            for slice in 1..<8 {
                let previous = tables[(slice - 1) * 256 + byte]
                tables[slice * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xff)]
            }
        }
        return Tables(base: UnsafePointer(tables))
    }()

    /// The checksum of `bytes`, continuing from `crc` (the checksum of the bytes before them).
    static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var crc = ~crc
        let t0 = shared.base, t1 = t0 + 256, t2 = t0 + 512, t3 = t0 + 768
        let t4 = t0 + 1024, t5 = t0 + 1280, t6 = t0 + 1536, t7 = t0 + 1792
        guard var pointer = bytes.baseAddress else { return ~crc }
        var remaining = bytes.count
        while remaining >= 8 {
            let word = pointer.loadUnaligned(as: UInt64.self).littleEndian
            let low = crc ^ UInt32(truncatingIfNeeded: word)
            let high = UInt32(truncatingIfNeeded: word >> 32)
            crc = t7[Int(low & 0xff)] ^ t6[Int((low >> 8) & 0xff)]
                ^ t5[Int((low >> 16) & 0xff)] ^ t4[Int(low >> 24)]
                ^ t3[Int(high & 0xff)] ^ t2[Int((high >> 8) & 0xff)]
                ^ t1[Int((high >> 16) & 0xff)] ^ t0[Int(high >> 24)]
            pointer += 8
            remaining -= 8
        }
        while remaining > 0 {
            crc = (crc >> 8) ^ t0[Int((crc ^ UInt32(pointer.load(as: UInt8.self))) & 0xff)]
            pointer += 1
            remaining -= 1
        }
        return ~crc
    }

    static func checksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }

    static func checksum(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }
}
