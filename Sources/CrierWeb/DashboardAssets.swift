import CrierHTTP
import Foundation
import Hummingbird

/// The dashboard's stylesheet and script, read once at start and served from `/assets/`: the
/// Content-Security-Policy allows scripts and styles from this server only.
public struct DashboardAssets: Sendable {
    struct Asset: Sendable {
        let contentType: String
        let body: ByteBuffer
    }

    let files: [String: Asset]

    public static func load() throws -> DashboardAssets {
        var files: [String: Asset] = [:]
        for (name, contentType) in [("app.css", "text/css; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8")] {
            guard let url = Bundle.module.url(forResource: "Assets/\(name)", withExtension: nil) ?? Bundle.module.url(
                forResource: name, withExtension: nil, subdirectory: "Assets")
            else { throw DashboardSetupError("the dashboard's \(name) is missing from the build") }
            files[name] = Asset(contentType: contentType, body: ByteBuffer(bytes: try Data(contentsOf: url)))
        }
        return DashboardAssets(files: files)
    }

    func addRoutes(to router: Router<CrierRequestContext>) {
        router.get("assets/:name") { _, context -> Response in
            guard let name = context.parameters.get("name"), let asset = files[name] else {
                throw HTTPError(.notFound)
            }
            return Response(
                status: .ok,
                headers: [.contentType: asset.contentType, .cacheControl: "no-cache", .xContentTypeOptions: "nosniff"],
                body: .init(byteBuffer: asset.body))
        }
    }
}
