import Foundation
import X509

/// Reading and writing PEM files; keys are created with mode 0600.
public enum PEMFile {
    /// Writes `contents` to a new file at `path` with `mode` (0600 for keys,
    /// 0644 for certificates). Never overwrites: an existing file is an error.
    /// The mode is set when the file is created, so a key is never readable by
    /// others, not even briefly.
    public static func write(_ contents: String, to path: String, mode: mode_t) throws(CertificateAuthorityError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard descriptor >= 0 else {
            let code = errno
            if code == EEXIST { throw .fileExists(path) }
            throw .fileSystem(path: path, reason: String(cString: strerror(code)))
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        // The process umask may have narrowed the mode: set exactly what was asked.
        _ = fchmod(descriptor, mode)
        do {
            try handle.write(contentsOf: Data(contents.utf8))
            try handle.close()
        } catch {
            throw .fileSystem(path: path, reason: error.localizedDescription)
        }
    }

    static func readString(_ path: String, what: String) throws(CertificateAuthorityError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .fileSystem(path: path, reason: "cannot read the \(what): \(error.localizedDescription)")
        }
    }

    static func pem(of certificate: Certificate) throws(CertificateAuthorityError) -> String {
        do {
            return try certificate.serializeAsPEM().pemString
        } catch {
            throw .signingFailed("cannot encode the certificate: \(error)")
        }
    }
}
