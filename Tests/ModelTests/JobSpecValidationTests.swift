import Testing
import Model

/// Validation reports every problem at once, each with its field path.
@Suite struct JobSpecValidationTests {
    func problems(_ yaml: String) -> [String] {
        do {
            _ = try JobSpec.parse(yaml: yaml)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func reportsNestedPathOfBadValue() {
        let found = problems("""
            id: x
            groups:
              - name: g
                tasks:
                  - name: a
                    driver: exec
                  - name: b
                    driver: exec
                    resources: { memory_mb: 0 }
            """)
        #expect(found == ["groups[0].tasks[1].resources.memory_mb: must be greater than 0"])
    }

    @Test func unknownKeyGetsSuggestion() {
        let found = problems("""
            id: x
            groups:
              - name: g
                tasks:
                  - name: t
                    driver: exec
                    resources: { memroy_mb: 10 }
            """)
        #expect(found == [#"groups[0].tasks[0].resources.memroy_mb: unknown key; did you mean "memory_mb"?"#])
    }

    /// Small maps and large ones (the reader checks them differently) report
    /// each repeated key. (The YAML and JSON parsers refuse repeated keys
    /// before the reader sees them; a tree built in code may hold them.)
    @Test func duplicateKeysAreReported() {
        func problems(task extra: [(key: String, value: SpecValue)], job: [(key: String, value: SpecValue)] = []) -> [String] {
            let task = SpecValue.map([("name", .string("t")), ("driver", .string("exec"))] + extra)
            let group = SpecValue.map([("name", .string("g")), ("tasks", .list([task]))])
            do {
                _ = try JobSpec(document: .map([("id", .string("x")), ("groups", .list([group]))] + job))
                return []
            } catch {
                return error.problems.map(\.description)
            }
        }
        #expect(problems(task: [], job: [("id", .string("y"))]) == ["id: duplicate key"])
        let unknown = (0..<20).map { (key: "x\($0)", value: SpecValue.string("1")) }
        let found = problems(task: unknown + [("driver", .string("docker"))])
        #expect(found.filter { $0.hasSuffix("duplicate key") } == ["groups[0].tasks[0].driver: duplicate key"])
        #expect(found.filter { $0.contains("unknown key") }.count == 20)
    }

    @Test func reportsEveryProblemAtOnce() {
        let found = problems("""
            id: "bad id!"
            type: servise
            priority: 500
            datacenter: [dc1]
            groups:
              - name: g
                count: many
                restart: { attempts: 2, interval: soon }
                tasks:
                  - name: t
                    resources: { cpu: -1 }
                    kill_signal: SIGTREM
                  - name: t
                    driver: exec
            """)
        #expect(found.contains { $0.hasPrefix("id: ") })
        #expect(found.contains(#"type: "servise" is not one of "batch", "service", "system", "sysbatch"; did you mean "service"?"#))
        #expect(found.contains("priority: must be between 1 and 100, not 500"))
        #expect(found.contains(#"datacenter: unknown key; did you mean "datacenters"?"#))
        #expect(found.contains("groups[0].count: must be an integer, not a string"))
        #expect(found.contains { $0.hasPrefix("groups[0].restart.interval: \"soon\" is not a duration") })
        #expect(found.contains { $0.hasPrefix("groups[0].tasks[0].driver: is required") })
        #expect(found.contains("groups[0].tasks[0].resources.cpu: must be greater than 0"))
        #expect(found.contains(#"groups[0].tasks[0].kill_signal: "SIGTREM" is not a signal name; did you mean "SIGTERM"?"#))
        #expect(found.contains { $0.hasPrefix("groups[1].") } == false)
        #expect(found.contains { $0.hasPrefix("groups[0].tasks[1].name: \"t\" is already") })
        #expect(found.count >= 9)
    }

    @Test func syntaxErrorNamesLine() {
        let found = problems("id: x\ngroups:\n  - name: [unclosed\n")
        #expect(found.count == 1)
        #expect(found[0].contains("line"))
    }

    @Test(arguments: [
        ("affinities: [{ attribute: a, value: b, weight: 0 }]", "affinities[0].weight"),
        ("affinities: [{ attribute: a, value: b, weight: 101 }]", "affinities[0].weight"),
        ("constraints: [{ attribute: a, operator: regexp, value: '(' }]", "constraints[0].value"),
        ("constraints: [{ attribute: a, operator: version, value: '>= one' }]", "constraints[0].value"),
        ("constraints: [{ attribute: a, operator: '~~', value: b }]", "constraints[0].operator"),
        ("constraints: [{ operator: '=', value: b }]", "constraints[0].attribute"),
        ("constraints: [{ attribute: a, operator: '<' }]", "constraints[0].value"),
        ("spreads: [{ attribute: a, targets: [{value: x, percent: 70}, {value: y, percent: 40}] }]",
         "spreads[0].targets"),
        ("periodic: { crons: ['* * *'] }", "periodic"),
        ("parameterized: { payload: maybe }", "parameterized.payload"),
    ])
    func rejectsBadJobLevelValues(line: String, path: String) {
        let found = problems("id: x\n" + line + "\ngroups: [{ name: g, tasks: [{ name: t, driver: exec }] }]")
        #expect(found.contains { $0.hasPrefix(path) }, "\(found)")
    }

    @Test(arguments: [
        ("update: { min_healthy_time: 10m, healthy_deadline: 5m }", "groups[0].update.min_healthy_time"),
        ("update: { canary: -1 }", "groups[0].update.canary"),
        ("reschedule: { delay_function: linear }", "groups[0].reschedule.delay_function"),
        ("restart: { attempts: 10, interval: 1m, delay: 15s }", "groups[0].restart.delay"),
        ("disconnect: { reconcile: newest }", "groups[0].disconnect.reconcile"),
        ("count: -2", "groups[0].count"),
    ])
    func rejectsBadGroupValues(line: String, path: String) {
        let found = problems("id: x\ngroups:\n  - name: g\n    \(line)\n    tasks: [{ name: t, driver: exec }]")
        #expect(found.contains { $0.hasPrefix(path) }, "\(found)")
    }

    @Test(arguments: [
        ("inputs: [{ name: a }]", "groups[0].tasks[0].inputs[0]: give exactly one"),
        ("inputs: [{ name: a, dataset: d, url: 'https://x' }]", "groups[0].tasks[0].inputs[0]: give exactly one"),
        ("inputs: [{ name: a, url: 'ftp://x' }]", "groups[0].tasks[0].inputs[0].url"),
        ("inputs: [{ name: a, url: 'https://x', locality: required }]", "groups[0].tasks[0].inputs[0].locality"),
        ("inputs: [{ name: a, dataset: d, locality: nearby }]", "groups[0].tasks[0].inputs[0].locality"),
        ("outputs: [{ name: o }]", "groups[0].tasks[0].outputs[0].path"),
        ("resources: { memory_mb: 100, memory_max_mb: 50 }", "groups[0].tasks[0].resources.memory_max_mb"),
        ("resources: { cpu: 100, cores: 2 }", "groups[0].tasks[0].resources.cpu"),
        ("resources: { devices: [{ name: gpu, count: 0 }] }", "groups[0].tasks[0].resources.devices[0].count"),
        ("kill_timeout: 5", "groups[0].tasks[0].kill_timeout"),
        ("env: { '1BAD': x }", "groups[0].tasks[0].env"),
    ])
    func rejectsBadTaskValues(line: String, prefix: String) {
        let found = problems("id: x\ngroups:\n  - name: g\n    tasks:\n      - name: t\n        driver: exec\n        \(line)")
        #expect(found.contains { $0.hasPrefix(prefix) }, "\(found)")
    }

    @Test func typeSpecificRules() {
        let system = problems("""
            id: s
            type: system
            groups: [{ name: g, count: 3, update: { canary: 1 }, reschedule: { attempts: 2 }, tasks: [{ name: t, driver: exec }] }]
            """)
        #expect(system.contains { $0.hasPrefix("groups[0].count") })
        #expect(system.contains { $0.hasPrefix("groups[0].update.canary") })
        #expect(system.contains { $0.hasPrefix("groups[0].reschedule") })
        let service = problems("""
            id: s
            periodic: { crons: ['@daily'] }
            groups: [{ name: g, tasks: [{ name: t, driver: exec }] }]
            """)
        #expect(service.contains { $0.hasPrefix("periodic: only batch and sysbatch") })
    }

    @Test func groupNeedsTasksAndJobNeedsGroups() {
        #expect(problems("id: x") == ["groups: must hold at least one group"])
        #expect(problems("id: x\ngroups: [{ name: g }]") == ["groups[0].tasks: must hold at least one task"])
        #expect(problems("groups: [{ name: g, tasks: [{name: t, driver: exec}] }]") == ["id: is required"])
    }

    @Test func wrongShapesAreReported() {
        let found = problems("id: x\ngroups: { name: g }")
        #expect(found == ["groups: must be a list, not a map"])
        let found2 = problems("id: x\nmeta: [a]\ngroups: [{ name: g, tasks: [ 3 ] }]")
        #expect(found2.contains("meta: must be a map of strings, not a list"))
        #expect(found2.contains("groups[0].tasks[0]: must be a map, not an integer"))
    }
}
