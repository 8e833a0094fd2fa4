import Testing

@testable import Executor

@Suite("Docker image references")
struct ImageReferenceTests {
    static let digest = "sha256:" + String(repeating: "0123456789abcdef", count: 4)

    @Test(
        "registry, path, tag and digest are split as the engine reads them",
        arguments: [
            ("busybox", nil, "busybox", nil, nil),
            ("busybox:1.36", nil, "busybox", "1.36", nil),
            ("library/busybox:latest", nil, "library/busybox", "latest", nil),
            ("busybox@\(digest)", nil, "busybox", nil, digest),
            ("team/app:1.2@\(digest)", nil, "team/app", "1.2", digest),
            ("localhost:5000/img:tag", "localhost:5000", "img", "tag", nil),
            ("localhost:5000/img", "localhost:5000", "img", nil, nil),
            ("localhost/img", "localhost", "img", nil, nil),
            ("localhost:5000/team/img@\(digest)", "localhost:5000", "team/img", nil, digest),
            ("registry.example.com/a/b/c:v1", "registry.example.com", "a/b/c", "v1", nil),
            ("my-registry:443/app_x__y.z-w:1", "my-registry:443", "app_x__y.z-w", "1", nil),
        ] as [(String, String?, String, String?, String?)]
    )
    func parses(text: String, registry: String?, path: String, tag: String?, digest: String?) throws {
        let reference = try ImageReference(parsing: text)
        #expect(reference.registry == registry)
        #expect(reference.path == path)
        #expect(reference.tag == tag)
        #expect(reference.digest == digest)
        #expect(reference.description == text)
    }

    @Test("the pull names the repository and the digest, else the tag, else latest")
    func pullParameters() throws {
        let byDigest = try ImageReference(parsing: "localhost:5000/team/img:1@\(Self.digest)").pullParameters
        #expect(byDigest.fromImage == "localhost:5000/team/img")
        #expect(byDigest.tag == Self.digest)
        let byTag = try ImageReference(parsing: "localhost:5000/img:tag").pullParameters
        #expect(byTag.fromImage == "localhost:5000/img")
        #expect(byTag.tag == "tag")
        let bare = try ImageReference(parsing: "localhost:5000/img").pullParameters
        #expect(bare.fromImage == "localhost:5000/img")
        #expect(bare.tag == "latest")
    }

    @Test(
        "malformed references are refused with the reason",
        arguments: [
            ("", "it is empty"),
            ("Busybox", "must be lowercase"),
            ("busybox@sha256:abc", "the digest \"sha256:abc\""),
            ("busybox@\(digest.uppercased())", "is not algorithm:hex"),
            ("busybox:", "the tag \"\""),
            ("busybox:-x", "the tag \"-x\""),
            ("team//app", "empty path component"),
            ("team/app-", "the path component \"app-\""),
            ("a..b", "the path component \"a..b\""),
            ("localhost:http/img", "the registry \"localhost:http\""),
            ("localhost:5000/", "empty path component"),
        ]
    )
    func refuses(text: String, reason: String) {
        #expect {
            _ = try ImageReference(parsing: text)
        } throws: { error in
            guard let invalid = error as? ImageReference.Invalid else { return false }
            return invalid.reference == text && invalid.reason.contains(reason)
        }
    }

    @Test("the docker configuration refuses a malformed image")
    func configRefusesMalformedImage() {
        #expect(throws: TaskDriverError.invalidConfig(driver: "docker", reason: "\"image\": \"Caravan/App\" is not an image reference: the repository \"Caravan/App\" must be lowercase")) {
            _ = try DockerConfig(DockerConfig(image: "Caravan/App").json)
        }
    }
}
