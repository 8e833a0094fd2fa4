/// API is the Swift client library for a Caravan cluster and the mapping
/// between Model values and the wire. It arrives with the server role
/// (issue 6); until then the module holds only this description.
public enum API {}
