// Encodes and decodes the values Raft entries, snapshots and the node watch
// carry: a job (its spec goes through the spec reader) and an allocation,
// in Packed and, as the baseline measured in the same run, in JSON
// (Foundation's encoder; WireJSON's decoder). Then an allocation's and a
// plan's hand-written Packed forms against Codable's path to the same bytes,
// and WireJSON's encoding of a job, which goes through Packed, against
// Foundation's encoder.
//
//   cd Benchmarks && swift run -c release CodingThroughput [iterations]
import API
import Foundation
@_spi(Testing) import Model

let iterations = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 20_000

let spec = try JobSpec.parse(yaml: """
    id: bench
    type: batch
    datacenters: ["*"]
    meta: {owner: bench, purpose: coding}
    groups:
      - name: g
        count: 2
        restart: {attempts: 2, delay: 1s, mode: fail}
        tasks:
          - name: t
            driver: exec
            config: {command: /bin/echo, args: ["hello", "world"]}
            env: {A: "1", B: "2"}
            resources: {cpu: 100, memory_mb: 64}
    """)
let job = Job(spec: spec, version: 3, submittedAt: Timestamp(seconds: 1_700_000_000))
let allocation = Allocation(id: "0b0e7d3c-5a4f-4d3e-9a57-0c1d2e3f4a5b", jobID: "bench", jobType: .batch, group: "g",
                            nodeID: "node-1", resources: AllocatedResources(cpu: 100, memoryMB: 64),
                            createdAt: Timestamp(seconds: 1_700_000_000))

func measure(_ label: String, _ body: () throws -> Void) rethrows -> Double {
    try body() // warm up
    let start = ContinuousClock.now
    for _ in 0..<iterations { try body() }
    let elapsed = ContinuousClock.now - start
    let perSecond = Double(iterations) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    print("  \(label.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(format: "%9.0f", perSecond))/s")
    return perSecond
}

/// The baseline: Foundation's encoder, as `WireJSON.encode` used it before it went through Packed.
func foundationJSON(_ value: some Encodable) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return (try? encoder.encode(value)) ?? Data()
}

print("CodingThroughput: \(iterations) iterations each")
for (name, encodePacked, decodePacked, encodeJSON, decodeJSON) in [
    ("job", { _ = try Packed.encode(job) }, { [bytes = try Packed.encode(job)] in _ = try Packed.decode(Job.self, from: bytes) },
     { _ = foundationJSON(job) }, { [data = WireJSON.encode(job)] in _ = try WireJSON.decode(Job.self, from: data) }),
    ("allocation", { _ = try Packed.encode(allocation) }, { [bytes = try Packed.encode(allocation)] in _ = try Packed.decode(Allocation.self, from: bytes) },
     { _ = foundationJSON(allocation) }, { [data = WireJSON.encode(allocation)] in _ = try WireJSON.decode(Allocation.self, from: data) }),
] as [(String, () throws -> Void, () throws -> Void, () throws -> Void, () throws -> Void)] {
    let pe = try measure("\(name) Packed encode", encodePacked)
    let je = try measure("\(name) JSON encode", encodeJSON)
    let pd = try measure("\(name) Packed decode", decodePacked)
    let jd = try measure("\(name) JSON decode", decodeJSON)
    print("  \(name): Packed is \(String(format: "%.2f", pe / je))x JSON's encode rate, \(String(format: "%.2f", pd / jd))x its decode rate")
}

// The hand-written Packed forms (PackedCodable) against Codable's path to
// the same bytes, measured in the same run.
let plan = Plan(evaluationID: "e1", jobKey: JobKey(id: "bench"), placements: [allocation],
                followUpEvaluations: [Evaluation(id: "e2", jobID: "bench", createdAt: Timestamp(seconds: 1_700_000_000))])
for (name, encodeFast, encodeCodable, decodeFast, decodeCodable) in [
    ("allocation", { _ = try Packed.encode(allocation, usesHandWrittenForms: true) }, { _ = try Packed.encode(allocation, usesHandWrittenForms: false) },
     { [bytes = try Packed.encode(allocation)] in _ = try Packed.decode(Allocation.self, from: bytes, usesHandWrittenForms: true) },
     { [bytes = try Packed.encode(allocation)] in _ = try Packed.decode(Allocation.self, from: bytes, usesHandWrittenForms: false) }),
    ("plan", { _ = try Packed.encode(plan, usesHandWrittenForms: true) }, { _ = try Packed.encode(plan, usesHandWrittenForms: false) },
     { [bytes = try Packed.encode(plan)] in _ = try Packed.decode(Plan.self, from: bytes, usesHandWrittenForms: true) },
     { [bytes = try Packed.encode(plan)] in _ = try Packed.decode(Plan.self, from: bytes, usesHandWrittenForms: false) }),
] as [(String, () throws -> Void, () throws -> Void, () throws -> Void, () throws -> Void)] {
    let fe = try measure("\(name) hand-written encode", encodeFast)
    let ce = try measure("\(name) Codable encode", encodeCodable)
    let fd = try measure("\(name) hand-written decode", decodeFast)
    let cd = try measure("\(name) Codable decode", decodeCodable)
    print("  \(name): the hand-written form encodes \(String(format: "%.2f", fe / ce))x and decodes \(String(format: "%.2f", fd / cd))x as fast as Codable")
}

// API payloads: WireJSON writes JSON through Packed (Packed.jsonText), the
// same text as Foundation's encoder.
let viaPacked = measure("job WireJSON encode", { _ = WireJSON.encode(job) })
let viaFoundation = measure("job JSONEncoder encode", { _ = foundationJSON(job) })
print("  WireJSON writes a job's JSON \(String(format: "%.2f", viaPacked / viaFoundation))x as fast as JSONEncoder")

// A registration's Raft entry carries the spec as JSON text, read with
// SpecValue's own JSON reader; the Packed tree is the alternative.
let specText = spec.specValue.jsonText
let specPacked = try Packed.encode(spec)
let text = try measure("spec from JSON text", { _ = try JobSpec(document: SpecValue(json: specText.utf8)) })
let tree = try measure("spec from Packed", { _ = try Packed.decode(JobSpec.self, from: specPacked) })
print("  spec: Packed reads \(String(format: "%.2f", tree / text))x as fast as the JSON text")

// A group's fingerprint: the scheduler takes one per group per evaluation.
_ = measure("group fingerprint", { _ = spec.groups[0].fingerprint })
