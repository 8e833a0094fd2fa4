import Crypto
import Foundation
import SwiftASN1
import X509

/// A cluster certificate authority: a self-signed P-256 CA certificate and its
/// key, which issues the server, client and CLI certificates whose DNS names
/// carry their roles (see ``PeerRole``).
///
/// This is what `caravan tls ca create` and `caravan tls cert create` use; it
/// never shells out to openssl.
public struct CertificateAuthority: Sendable {
    /// The CA's certificate: the trust root every node is configured with.
    public let certificate: Certificate
    let privateKey: P256.Signing.PrivateKey

    /// Creates a new CA.
    /// - Parameters:
    ///   - commonName: The CA's subject common name.
    ///   - validityDays: How long the CA is valid (default five years).
    ///   - now: The start of validity (one minute earlier, for clock skew).
    public static func create(
        commonName: String = "Caravan Agent CA", validityDays: Int = 1825, now: Date = Date()
    ) throws(CertificateAuthorityError) -> CertificateAuthority {
        guard validityDays > 0 else { throw .invalidValidity("the CA must be valid for at least one day") }
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        do {
            let name = try DistinguishedName {
                CommonName(commonName)
                OrganizationName("Caravan")
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-60),
                notValidAfter: now.addingTimeInterval(Double(validityDays) * 86_400),
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions, issuerPrivateKey: Certificate.PrivateKey(key)
            )
            return CertificateAuthority(certificate: certificate, privateKey: key)
        } catch {
            throw .signingFailed("\(error)")
        }
    }

    /// Loads a CA from its PEM certificate and PEM (PKCS#8 or SEC1) P-256 key.
    public init(certificatePEM: String, privateKeyPEM: String) throws(CertificateAuthorityError) {
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw .invalidInput("the CA certificate is not PEM: \(error)")
        }
        do {
            privateKey = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw .invalidInput("the CA key is not a PEM P-256 private key: \(error)")
        }
        guard Certificate.PublicKey(privateKey.publicKey) == certificate.publicKey else {
            throw .invalidInput("the CA key does not belong to the CA certificate")
        }
    }

    /// Loads a CA from the two PEM files `caravan tls ca create` wrote.
    public static func load(certificatePath: String, keyPath: String) throws(CertificateAuthorityError) -> CertificateAuthority {
        try CertificateAuthority(
            certificatePEM: PEMFile.readString(certificatePath, what: "CA certificate"),
            privateKeyPEM: PEMFile.readString(keyPath, what: "CA key")
        )
    }

    private init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// The CA certificate as PEM.
    public var certificatePEM: String {
        get throws(CertificateAuthorityError) { try PEMFile.pem(of: certificate) }
    }

    /// The CA key as PKCS#8 PEM. Keep it secret: whoever holds it can mint any role.
    public var privateKeyPEM: String { privateKey.pemRepresentation }

    /// Issues a certificate for `role` in `region`, valid for `validityDays` from `now`.
    ///
    /// Its DNS names are `<role>.<region>.caravan` then `additionalDNSNames`.
    /// Server certificates also name `localhost` and 127.0.0.1 and may
    /// authenticate either end of a connection. Client (node) and CLI
    /// certificates authenticate only the dialing end — nodes and the CLI never
    /// listen — and carry no IP address: TLS hostname checks accept an IP
    /// match in place of the name, so an IP in a client certificate would let
    /// it pass for `server.<region>.caravan` at that address.
    public func issue(
        role: PeerRole, region: String = "global", additionalDNSNames: [String] = [],
        additionalIPAddresses: [String] = [], validityDays: Int = 365, now: Date = Date()
    ) throws(CertificateAuthorityError) -> IssuedCertificate {
        guard validityDays > 0 else { throw .invalidValidity("a certificate must be valid for at least one day") }
        return try issue(
            role: role, region: region, additionalDNSNames: additionalDNSNames,
            additionalIPAddresses: additionalIPAddresses,
            notValidBefore: now.addingTimeInterval(-60),
            notValidAfter: now.addingTimeInterval(Double(validityDays) * 86_400)
        )
    }

    /// Issues a certificate valid exactly between the two dates (tests use
    /// this to make an expired certificate).
    public func issue(
        role: PeerRole, region: String = "global", additionalDNSNames: [String] = [],
        additionalIPAddresses: [String] = [], notValidBefore: Date, notValidAfter: Date
    ) throws(CertificateAuthorityError) -> IssuedCertificate {
        let region = region.lowercased()
        guard PeerIdentity(dnsName: role.dnsName(region: region)) != nil, !region.contains(".") else {
            throw .invalidInput("region \"\(region)\" must be one non-empty DNS label")
        }
        guard notValidBefore < notValidAfter else {
            throw .invalidValidity("notValidBefore must precede notValidAfter")
        }
        var names: [GeneralName] = [.dnsName(role.dnsName(region: region))]
        var dnsNames = additionalDNSNames
        var ipAddresses = additionalIPAddresses
        if role == .server {
            dnsNames.insert("localhost", at: 0)
            ipAddresses.insert("127.0.0.1", at: 0)
        } else if !ipAddresses.isEmpty {
            throw .invalidInput("only server certificates may name IP addresses: a \(role) never listens, and an IP in its certificate would pass a server's hostname check")
        }
        for name in dnsNames where !name.isEmpty {
            if PeerIdentity(dnsName: name) != nil {
                throw .invalidInput("\(name) names a Caravan role; the role comes only from --server, --client or --cli")
            }
            names.append(.dnsName(name))
        }
        for address in ipAddresses {
            guard let bytes = IPAddressBytes.parse(address) else {
                throw .invalidInput("\(address) is not an IPv4 or IPv6 address")
            }
            names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
        }

        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        do {
            let subject = try DistinguishedName {
                CommonName(role.dnsName(region: region))
                OrganizationName("Caravan")
            }
            let usages: [ExtendedKeyUsage.Usage] = role == .server ? [.serverAuth, .clientAuth] : [.clientAuth]
            let authorityKeyID = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage(usages)
                SubjectKeyIdentifier(hash: publicKey)
                if let authorityKeyID {
                    AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
                }
                SubjectAlternativeNames(names)
            }
            let issued = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: notValidBefore, notValidAfter: notValidAfter,
                issuer: certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions, issuerPrivateKey: Certificate.PrivateKey(privateKey)
            )
            return IssuedCertificate(certificate: issued, privateKey: key, role: role, region: region)
        } catch {
            throw .signingFailed("\(error)")
        }
    }
}

/// A certificate a ``CertificateAuthority`` issued, with its private key.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    let privateKey: P256.Signing.PrivateKey
    public let role: PeerRole
    public let region: String

    /// The certificate as PEM.
    public var certificatePEM: String {
        get throws(CertificateAuthorityError) { try PEMFile.pem(of: certificate) }
    }

    /// The private key as PKCS#8 PEM.
    public var privateKeyPEM: String { privateKey.pemRepresentation }
}

/// Parses textual IP addresses into the bytes a certificate holds.
enum IPAddressBytes {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
