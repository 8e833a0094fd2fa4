/// TLS material that cannot be used, with what to do about it.
public enum TLSConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A file could not be read.
    case unreadableFile(path: String, what: String, reason: String)
    /// A file is not the PEM it should be.
    case invalidPEM(path: String, what: String, reason: String)
    /// The private key belongs to another certificate.
    case keyDoesNotMatchCertificate(keyPath: String, certificatePath: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let what, let reason):
            "cannot read the \(what) at \(path): \(reason)"
        case .invalidPEM(let path, let what, let reason):
            "the \(what) at \(path) is not usable PEM (\(reason)); create one with `caravan tls`"
        case .keyDoesNotMatchCertificate(let keyPath, let certificatePath):
            "the private key at \(keyPath) does not belong to the certificate at \(certificatePath); pass the key file created with it"
        }
    }
}
