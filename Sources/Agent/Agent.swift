/// Agent composes the server role, the client role and dev mode. It arrives
/// with issue 6; until then the module holds only this description.
public enum Agent {}
