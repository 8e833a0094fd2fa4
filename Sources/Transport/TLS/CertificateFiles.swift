import Foundation

/// The file names `caravan tls` uses, and writing a CA or certificate to them.
/// Certificates are written 0644, keys 0600; nothing is ever overwritten.
public enum CertificateFiles {
    /// `caravan-agent-ca.pem`.
    public static let caCertificateName = "caravan-agent-ca.pem"
    /// `caravan-agent-ca-key.pem`.
    public static let caKeyName = "caravan-agent-ca-key.pem"

    /// Where a written certificate and its key went.
    public struct Written: Sendable, Hashable {
        public var certificatePath: String
        public var keyPath: String
    }

    /// Writes the CA's certificate and key into `directory`.
    /// - Throws: ``CertificateAuthorityError/fileExists(_:)`` when a CA is already there.
    public static func write(_ authority: CertificateAuthority, into directory: String) throws(CertificateAuthorityError) -> Written {
        let certificatePath = path(directory, caCertificateName)
        let keyPath = path(directory, caKeyName)
        for existing in [certificatePath, keyPath] where FileManager.default.fileExists(atPath: existing) {
            throw .fileExists(existing)
        }
        try PEMFile.write(authority.privateKeyPEM, to: keyPath, mode: 0o600)
        try PEMFile.write(try authority.certificatePEM, to: certificatePath, mode: 0o644)
        return Written(certificatePath: certificatePath, keyPath: keyPath)
    }

    /// Writes an issued certificate and its key into `directory` as
    /// `<region>-<role>-caravan.pem` and `…-key.pem`, or with `-1`, `-2`, …
    /// appended when those names are taken.
    public static func write(_ issued: IssuedCertificate, into directory: String) throws(CertificateAuthorityError) -> Written {
        let stem = "\(issued.region)-\(issued.role.rawValue)-caravan"
        var suffix = 0
        while true {
            let name = suffix == 0 ? stem : "\(stem)-\(suffix)"
            let certificatePath = path(directory, "\(name).pem")
            let keyPath = path(directory, "\(name)-key.pem")
            if FileManager.default.fileExists(atPath: certificatePath) || FileManager.default.fileExists(atPath: keyPath) {
                suffix += 1
                continue
            }
            try PEMFile.write(issued.privateKeyPEM, to: keyPath, mode: 0o600)
            try PEMFile.write(try issued.certificatePEM, to: certificatePath, mode: 0o644)
            return Written(certificatePath: certificatePath, keyPath: keyPath)
        }
    }

    private static func path(_ directory: String, _ name: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(name).path
    }
}
