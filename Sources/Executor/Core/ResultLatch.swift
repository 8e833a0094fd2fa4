import Foundation
import Synchronization

/// A value set once that any number of tasks can await, with or without a time limit.
final class ResultLatch<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [UUID: CheckedContinuation<Value?, Never>] = [:]
    }

    private let state = Mutex(State())

    init() {}

    /// Sets the value (the first call wins) and wakes every waiter.
    func resolve(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value?, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The value, if set.
    var current: Value? { state.withLock { $0.value } }

    /// Waits for the value.
    func value() async -> Value {
        // Without a time limit the wait ends only with a value.
        await wait(timeout: nil)!
    }

    /// Waits for the value at most `timeout`; `nil` when it did not come in time.
    func value(timeout: Duration) async -> Value? {
        await wait(timeout: timeout)
    }

    private func wait(timeout: Duration?) async -> Value? {
        let id = UUID()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
            let ready = state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.waiters[id] = continuation
                return nil
            }
            if let ready {
                continuation.resume(returning: ready)
                return
            }
            if let timeout {
                Task.detached { [self] in
                    try? await Task.sleep(for: timeout)
                    let expired = state.withLock { $0.waiters.removeValue(forKey: id) }
                    expired?.resume(returning: nil)
                }
            }
        }
    }
}
