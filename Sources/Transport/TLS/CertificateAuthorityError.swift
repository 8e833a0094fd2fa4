/// Why a certificate or CA could not be created, loaded or written.
public enum CertificateAuthorityError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An argument or input file is wrong; the text says which and how.
    case invalidInput(String)
    /// A validity period that cannot be used.
    case invalidValidity(String)
    /// swift-certificates failed to build or sign the certificate.
    case signingFailed(String)
    /// A file to be written already exists; nothing was overwritten.
    case fileExists(String)
    /// A file could not be read or written.
    case fileSystem(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidInput(let text): text
        case .invalidValidity(let text): "invalid validity: \(text)"
        case .signingFailed(let text): "could not sign the certificate: \(text)"
        case .fileExists(let path): "\(path) already exists: move it away, or choose another directory"
        case .fileSystem(let path, let reason): "\(path): \(reason)"
        }
    }
}
