import Foundation
import Testing
import Transport
import X509

@Suite struct CertificateAuthorityTests {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("caravan-ca-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func issuedCertificatesCarryTheirRoleAndExtraNames() throws {
        let ca = try CertificateAuthority.create()
        let server = try ca.issue(role: .server, region: "eu", additionalDNSNames: ["caravan.example.com"], additionalIPAddresses: ["10.1.2.3", "::1"], validityDays: 30)
        #expect(PeerIdentity.identities(in: server.certificate) == [PeerIdentity(role: .server, region: "eu")])
        let names = try #require(try server.certificate.extensions.subjectAlternativeNames)
        #expect(names.contains(.dnsName("server.eu.caravan")))
        #expect(names.contains(.dnsName("localhost")))
        #expect(names.contains(.dnsName("caravan.example.com")))
        #expect(server.certificate.issuer == ca.certificate.subject)
        let days = server.certificate.notValidAfter.timeIntervalSince(server.certificate.notValidBefore) / 86_400
        #expect(abs(days - 30) < 0.01)
        let usage = try #require(try server.certificate.extensions.extendedKeyUsage)
        #expect(usage.contains(.serverAuth) && usage.contains(.clientAuth))

        for role in [PeerRole.client, .cli] {
            let issued = try ca.issue(role: role, additionalDNSNames: ["node-7.example.com"])
            #expect(PeerIdentity.identities(in: issued.certificate) == [PeerIdentity(role: role, region: "global")])
            let usage = try #require(try issued.certificate.extensions.extendedKeyUsage)
            #expect(!usage.contains(.serverAuth))
            let names = try #require(try issued.certificate.extensions.subjectAlternativeNames)
            #expect(Array(names) == [.dnsName(role.dnsName(region: "global")), .dnsName("node-7.example.com")])
        }
    }

    @Test func aRoleCannotBeSmuggledInAsAnExtraName() throws {
        let ca = try CertificateAuthority.create()
        #expect(throws: CertificateAuthorityError.self) {
            _ = try ca.issue(role: .client, additionalDNSNames: ["server.global.caravan"]) as IssuedCertificate
        }
        #expect(throws: CertificateAuthorityError.self) {
            _ = try ca.issue(role: .server, additionalIPAddresses: ["not-an-ip"]) as IssuedCertificate
        }
        #expect(throws: CertificateAuthorityError.self) {
            _ = try ca.issue(role: .client, additionalIPAddresses: ["10.0.0.7"]) as IssuedCertificate
        }
        #expect(throws: CertificateAuthorityError.self) {
            _ = try ca.issue(role: .client, region: "a.b") as IssuedCertificate
        }
        #expect(throws: CertificateAuthorityError.self) {
            _ = try ca.issue(role: .client, validityDays: 0) as IssuedCertificate
        }
    }

    @Test func filesAreWrittenWithKeysPrivateAndNeverOverwritten() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ca = try CertificateAuthority.create()
        let caFiles = try CertificateFiles.write(ca, into: directory)
        #expect(throws: CertificateAuthorityError.fileExists(caFiles.certificatePath)) { try CertificateFiles.write(ca, into: directory) }

        let first = try CertificateFiles.write(try ca.issue(role: .server), into: directory)
        let second = try CertificateFiles.write(try ca.issue(role: .server), into: directory)
        #expect(first.certificatePath.hasSuffix("/global-server-caravan.pem"))
        #expect(second.certificatePath.hasSuffix("/global-server-caravan-1.pem"))
        for key in [caFiles.keyPath, first.keyPath, second.keyPath] {
            let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(key)")
        }
        let certificateMode = try FileManager.default.attributesOfItem(atPath: first.certificatePath)[.posixPermissions] as? Int
        #expect(certificateMode == 0o644)

        // The CA loads back from its files and issues certificates the original's certificate verifies.
        let loaded = try CertificateAuthority.load(certificatePath: caFiles.certificatePath, keyPath: caFiles.keyPath)
        #expect(loaded.certificate == ca.certificate)
        let issued = try loaded.issue(role: .client)
        #expect(issued.certificate.issuer == ca.certificate.subject)
    }

    @Test func transportSecurityReportsBadFilesClearly() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ca = try CertificateAuthority.create()
        let caFiles = try CertificateFiles.write(ca, into: directory)
        let a = try CertificateFiles.write(try ca.issue(role: .server), into: directory)
        let b = try CertificateFiles.write(try ca.issue(role: .server), into: directory)

        let good = try TransportSecurityConfiguration.mutualTLS(TLSFiles(caPath: caFiles.certificatePath, certificatePath: a.certificatePath, keyPath: a.keyPath))
        #expect(good.isTLS)
        #expect(good.localIdentities == [PeerIdentity(role: .server, region: "global")])

        #expect(throws: TLSConfigurationError.keyDoesNotMatchCertificate(keyPath: b.keyPath, certificatePath: a.certificatePath)) {
            try TransportSecurityConfiguration.mutualTLS(TLSFiles(caPath: caFiles.certificatePath, certificatePath: a.certificatePath, keyPath: b.keyPath))
        }
        let missing = directory + "/missing.pem"
        do {
            _ = try TransportSecurityConfiguration.mutualTLS(TLSFiles(caPath: missing, certificatePath: a.certificatePath, keyPath: a.keyPath))
            Issue.record("a missing CA file must be an error")
        } catch {
            guard case .unreadableFile(let path, _, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(path == missing)
        }
        #expect(throws: TLSConfigurationError.self) {
            try TransportSecurityConfiguration.mutualTLS(TLSFiles(caPath: a.keyPath, certificatePath: a.certificatePath, keyPath: a.keyPath))
        }
    }

    @Test func identitiesParseOnlyCaravanRoleNames() {
        #expect(PeerIdentity(dnsName: "server.global.caravan") == PeerIdentity(role: .server, region: "global"))
        #expect(PeerIdentity(dnsName: "CLI.EU-West.caravan") == PeerIdentity(role: .cli, region: "eu-west"))
        #expect(PeerIdentity(dnsName: "server.global.nomad") == nil)
        #expect(PeerIdentity(dnsName: "admin.global.caravan") == nil)
        #expect(PeerIdentity(dnsName: "server..caravan") == nil)
        #expect(PeerIdentity(dnsName: "x.server.global.caravan") == nil)
    }
}
