/// Transport owns Caravan's wire: protobuf messages, gRPC services with mutual
/// TLS, and per-peer connection management. Its services arrive with issue 5;
/// until then the module holds only this description.
public enum Transport {}
