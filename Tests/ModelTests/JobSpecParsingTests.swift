import Foundation
import Testing
import Model

@Suite struct JobSpecParsingTests {
    static let minimal = """
        id: demo
        groups:
          - name: g
            tasks:
              - name: t
                driver: exec
        """

    @Test func appliesNomadDefaults() throws {
        let job = try JobSpec.parse(yaml: Self.minimal)
        #expect(job.type == .service)
        #expect(job.priority == 50)
        #expect(job.namespace == "default")
        #expect(job.name == "demo")
        #expect(job.datacenters == ["*"])
        let group = job.groups[0]
        #expect(group.count == 1)
        #expect(group.restart == RestartPolicy(attempts: 2, interval: .seconds(1800), delay: .seconds(15)))
        #expect(group.reschedule.unlimited)
        #expect(group.reschedule.delayFunction == .exponential)
        #expect(group.reschedule.delay == .seconds(30))
        #expect(group.reschedule.maxDelay == .seconds(3600))
        let task = group.tasks[0]
        #expect(task.killTimeout == .seconds(5))
        #expect(task.resources.cpu == 100)
        #expect(task.resources.memoryMB == 300)
    }

    @Test(arguments: [
        (JobType.batch, RestartPolicy(attempts: 3, interval: .seconds(86_400), delay: .seconds(15)),
         ReschedulePolicy(attempts: 1, interval: .seconds(86_400), delay: .seconds(5), delayFunction: .constant,
                          maxDelay: .seconds(3600), unlimited: false)),
        (JobType.service, RestartPolicy(attempts: 2, interval: .seconds(1800), delay: .seconds(15)),
         ReschedulePolicy(attempts: 0, interval: .zero, delay: .seconds(30), delayFunction: .exponential,
                          maxDelay: .seconds(3600), unlimited: true)),
    ])
    func policyDefaultsFollowJobType(type: JobType, restart: RestartPolicy, reschedule: ReschedulePolicy) throws {
        let job = try JobSpec.parse(yaml: "type: \(type.rawValue)\n" + Self.minimal)
        #expect(job.groups[0].restart == restart)
        #expect(job.groups[0].reschedule == reschedule)
    }

    @Test func partialPolicyKeepsTypeDefaults() throws {
        let yaml = """
            id: b
            type: batch
            groups:
              - name: g
                restart: { attempts: 1 }
                reschedule: { delay: 10s }
                tasks: [{ name: t, driver: exec }]
            """
        let group = try JobSpec.parse(yaml: yaml).groups[0]
        #expect(group.restart.attempts == 1)
        #expect(group.restart.interval == .seconds(86_400))
        #expect(group.reschedule.delay == .seconds(10))
        #expect(group.reschedule.attempts == 1)
    }

    @Test func readsDurationsInNomadStyle() throws {
        let yaml = """
            id: d
            groups:
              - name: g
                update: { min_healthy_time: 1m30s, healthy_deadline: 1h, progress_deadline: 2h }
                disconnect: { lost_after: 45m }
                tasks: [{ name: t, driver: exec, kill_timeout: 250ms, timeout: 2h }]
            """
        let group = try JobSpec.parse(yaml: yaml).groups[0]
        #expect(group.update?.minHealthyTime == .seconds(90))
        #expect(group.update?.healthyDeadline == .seconds(3600))
        #expect(group.update?.progressDeadline == .seconds(7200))
        #expect(group.disconnect?.lostAfter == .seconds(2700))
        #expect(group.tasks[0].killTimeout == .milliseconds(250))
        #expect(group.tasks[0].timeout == .seconds(7200))
    }

    @Test func readsJSON() throws {
        let json = """
            {"id": "j", "type": "batch", "priority": 70,
             "groups": [{"name": "g", "count": 2,
                         "tasks": [{"name": "t", "driver": "exec", "config": {"args": ["a", 1]},
                                    "resources": {"cpu": 250, "memory_mb": 128}}]}]}
            """
        let job = try JobSpec.parse(json: json)
        #expect(job.priority == 70)
        #expect(job.groups[0].count == 2)
        #expect(job.groups[0].tasks[0].config["args"] == .list([.string("a"), .int(1)]))
        #expect(job.groups[0].tasks[0].resources.memoryMB == 128)
    }

    @Test func codableDecodingIsStrict() {
        let json = #"{"id": "j", "groups": [{"name": "g", "cuont": 2, "tasks": [{"name": "t", "driver": "exec"}]}]}"#
        #expect(throws: JobSpecError.self) {
            try JSONDecoder().decode(JobSpec.self, from: Data(json.utf8))
        }
    }
}
