/// Agent composes the server role, the client role and dev mode. Today it
/// holds the server's Raft driver (`RaftDriver`); the replicated state
/// machine, scheduling and API handlers arrive with issue 6.
public enum Agent {}
