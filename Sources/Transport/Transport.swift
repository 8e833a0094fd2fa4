/// Transport owns Caravan's wire: the protobuf messages and gRPC services
/// generated from `Protos/` (in `Generated/`), the mapping between RaftCore's
/// values and their wire form, mutual TLS with role-bearing certificates, a
/// certificate authority for issuing them, and per-peer Raft connections.
///
/// Entry points:
/// - ``PeerTransport``: sends Raft messages to peers, batched, with a priority lane.
/// - ``RaftListener``: receives them on the server's Raft port (length-prefixed
///   protobuf frames over TCP, see ``RaftLink``); ``RaftService``: the gRPC
///   service that tells peers where that port is.
/// - ``TLSFiles`` / ``TransportSecurityConfiguration``: mTLS for every port.
/// - ``CertificateAuthority``: `caravan tls ca create` / `caravan tls cert create`.
public enum Transport {}
