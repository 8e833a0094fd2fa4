import Foundation
import Testing
import Model

/// Every job file under Examples/jobs parses and validates.
@Suite struct ExampleJobTests {
    static var jobsDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/jobs")
    }

    static var exampleFiles: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: jobsDirectory.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func examplesExist() {
        #expect(Self.exampleFiles.count >= 4)
        for expected in ["batch-hello.yaml", "service-web.yaml", "system-logger.yaml", "data-locality.yaml"] {
            #expect(Self.exampleFiles.contains(expected))
        }
    }

    @Test(arguments: exampleFiles)
    func exampleParsesAndValidates(file: String) throws {
        let text = try String(contentsOf: Self.jobsDirectory.appendingPathComponent(file), encoding: .utf8)
        let job: JobSpec
        do {
            job = try JobSpec.parse(yaml: text)
        } catch {
            Issue.record("\(file): \(error)")
            return
        }
        #expect(job.validate().isEmpty)
        #expect(!job.groups.isEmpty)
        // The document form reads back to the same job, through JSON too.
        let json = String(decoding: try JSONEncoder().encode(job), as: UTF8.self)
        #expect(try JobSpec.parse(json: json) == job)
        #expect(try JSONDecoder().decode(JobSpec.self, from: Data(json.utf8)) == job)
    }

    @Test func dataLocalityExampleReadsInputs() throws {
        let text = try String(contentsOf: Self.jobsDirectory.appendingPathComponent("data-locality.yaml"),
                              encoding: .utf8)
        let job = try JobSpec.parse(yaml: text)
        let inputs = job.groups[0].tasks[0].inputs
        #expect(inputs.map(\.name) == ["corpus", "vectors", "stopwords"])
        #expect(inputs[0].source == .dataset("wiki-2024"))
        #expect(inputs[0].locality == .required)
        #expect(inputs[2].source == .url("https://example.org/stopwords.txt"))
        #expect(job.groups[0].tasks[0].resources.cores == 2)
        #expect(job.groups[0].tasks[0].resources.cpu == 0)
        #expect(job.groups[0].tasks[0].outputs[0].dataset == "wiki-2024-index")
    }
}
