/// Executor defines the `TaskDriver` protocol and the built-in exec, Docker and
/// WASM drivers. They arrive with issue 7; until then the module holds only
/// this description.
public enum Executor {}
