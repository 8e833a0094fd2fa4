/// A Docker image reference, `[registry[:port]/]path[:tag][@digest]`, split as
/// the engine (and the distribution spec) reads it.
///
/// ```
/// busybox                         path busybox, no tag (the engine pulls latest)
/// localhost:5000/team/app:1.2     registry localhost:5000, path team/app, tag 1.2
/// app@sha256:<64 hex digits>      path app, digest sha256:...
/// ```
///
/// A colon is a tag separator only in the last path component: the one in
/// `localhost:5000` belongs to the registry. The first component is a registry
/// when it holds a `.` or a `:` or is `localhost`. Names are not normalized
/// (`busybox` stays `busybox`, not `docker.io/library/busybox`): the engine
/// does that.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// The registry host (with its port), when the reference names one.
    public var registry: String?
    /// The repository path inside the registry (`library/busybox`, `team/app`).
    public var path: String
    /// The tag, when the reference has one.
    public var tag: String?
    /// The content digest (`sha256:...`), when the reference has one.
    public var digest: String?

    /// The repository: registry and path, without tag or digest.
    public var repository: String { registry.map { "\($0)/\(path)" } ?? path }

    /// What the engine's `POST /images/create` is given: the repository as
    /// `fromImage`, and the digest or else the tag (else `latest`) as `tag`
    /// (an empty tag would pull every tag of the repository).
    public var pullParameters: (fromImage: String, tag: String) {
        (repository, digest ?? tag ?? "latest")
    }

    public var description: String {
        repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }

    /// Why a string is not an image reference.
    public struct Invalid: Error, Hashable, CustomStringConvertible {
        /// The string.
        public var reference: String
        /// What is wrong with it.
        public var reason: String
        public var description: String { "\"\(reference)\" is not an image reference: \(reason)" }
    }

    /// Parses `text`.
    public init(parsing text: String) throws(Invalid) {
        func invalid(_ reason: String) -> Invalid { Invalid(reference: text, reason: reason) }
        guard !text.isEmpty else { throw invalid("it is empty") }
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            let digest = String(rest[rest.index(after: at)...])
            guard Self.isDigest(digest) else {
                throw invalid("the digest \"\(digest)\" is not algorithm:hex (sha256 takes 64 lowercase hex digits)")
            }
            self.digest = digest
            rest = rest[..<at]
        } else {
            self.digest = nil
        }
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let tag = String(rest[rest.index(after: colon)...])
            guard Self.isTag(tag) else {
                throw invalid("the tag \"\(tag)\" must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
            }
            self.tag = tag
            rest = rest[..<colon]
        } else {
            self.tag = nil
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.count > 1, let first = components.first,
            first.contains(".") || first.contains(":") || first == "localhost"
        {
            guard Self.isRegistry(first) else { throw invalid("the registry \"\(first)\" is not host[:port]") }
            self.registry = first
            components.removeFirst()
        } else {
            self.registry = nil
        }
        for component in components where !Self.isPathComponent(component) {
            if component.isEmpty { throw invalid("the repository has an empty path component") }
            if component != component.lowercased() { throw invalid("the repository \"\(components.joined(separator: "/"))\" must be lowercase") }
            throw invalid("the path component \"\(component)\" must be lowercase letters and digits, separated by '.', '_', '__' or '-'")
        }
        self.path = components.joined(separator: "/")
    }

    /// `sha256:` and 64 lowercase hex digits, or another `algorithm:encoded` (32+ characters).
    static func isDigest(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        let algorithm = text[..<colon]
        let encoded = text[text.index(after: colon)...]
        let hex = encoded.allSatisfy { $0.isASCII && ($0.isNumber || ("a"..."f").contains($0)) }
        if algorithm == "sha256" { return encoded.count == 64 && hex }
        if algorithm == "sha512" { return encoded.count == 128 && hex }
        let algorithmOK = !algorithm.isEmpty && algorithm.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+._-".contains($0)) }
        let encodedOK = encoded.count >= 32 && encoded.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "=_-".contains($0)) }
        return algorithmOK && encodedOK
    }

    static func isTag(_ text: String) -> Bool {
        guard let first = text.first, text.count <= 128, first != ".", first != "-" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }

    /// `host` or `host:port`; host labels of letters, digits and '-', separated by '.'.
    static func isRegistry(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let host = parts.first, !host.isEmpty else { return false }
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65535).contains(port), parts[1].allSatisfy(\.isNumber) else { return false }
        }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// Lowercase alphanumerics, separated by one '.', one '_', '__' or any number of '-'.
    static func isPathComponent(_ text: String) -> Bool {
        func isAlphanumeric(_ character: Character) -> Bool { character.isASCII && (character.isLowercase || character.isNumber) }
        guard let first = text.first, let last = text.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
        var separator = ""
        for character in text {
            if isAlphanumeric(character) {
                guard separator.isEmpty || [".", "_", "__"].contains(separator) || separator.allSatisfy({ $0 == "-" }) else { return false }
                separator = ""
            } else if ".-_".contains(character) {
                separator.append(character)
            } else {
                return false
            }
        }
        return true
    }
}
