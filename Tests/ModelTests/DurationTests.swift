import Testing
@testable import Model

@Suite struct DurationParsingTests {
    @Test(arguments: [
        ("30s", Duration.seconds(30)),
        ("5m", .seconds(300)),
        ("1h30m", .seconds(5400)),
        ("1.5h", .seconds(5400)),
        ("250ms", .milliseconds(250)),
        ("10us", .microseconds(10)),
        ("0", .zero),
        ("24h", .seconds(86_400)),
        ("-1.5s", .milliseconds(-1500)),
        ("+2m", .seconds(120)),
        (" 250ms ", .milliseconds(250)),
        ("10µs", .microseconds(10)),
        ("1h0m0.5s", .milliseconds(3_600_500)),
        ("-0", .zero),
        ("7d", .seconds(604_800)),
        ("100ns", .nanoseconds(100)),
    ])
    func parsesNomadDurations(text: String, expected: Duration) {
        #expect(Duration(nomad: text) == expected)
    }

    @Test(arguments: ["", "30", "5 parsecs", "h", "1x", "--1s", "-", " - ", "1MS", "1.2.3s", "1sm", "1h 30m", "3μs"])
    func rejectsMalformedDurations(text: String) {
        #expect(Duration(nomad: text) == nil)
    }

    @Test(arguments: [
        (Duration.seconds(5400), "1h30m"),
        (.seconds(30), "30s"),
        (.milliseconds(250), "250ms"),
        (.zero, "0s"),
        (.seconds(86_400), "24h"),
    ])
    func rendersNomadDurations(duration: Duration, expected: String) {
        #expect(duration.nomadText == expected)
        #expect(Duration(nomad: expected) == duration)
    }
}
