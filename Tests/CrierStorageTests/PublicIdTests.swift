import Foundation
import Testing

@testable import CrierStorage

@Suite("Public ids")
struct PublicIdTests {
    @Test("random ids are version-4 UUIDs in lower case, as Foundation would write them, and differ")
    func randomUUIDs() {
        let ids = (0..<2_000).map { _ in RandomPublicId.uuid() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(200) {
            let uuid = UUID(uuidString: id)
            #expect(uuid?.uuidString.lowercased() == id, "\(id)")
            let bytes = uuid.map { withUnsafeBytes(of: $0.uuid) { Array($0) } } ?? []
            #expect(bytes.count == 16 && bytes[6] >> 4 == 4 && bytes[8] >> 6 == 0b10, "\(id): version 4, variant 1")
        }
    }

    @Test("message ids: the creation time in milliseconds, then 48 random bits, 24 lower-case hex digits")
    func messageIds() throws {
        let at = Date(timeIntervalSince1970: 1_893_456_000.123)  // 2030-01-01T00:00:00.123Z
        let ids = MessagePublicId.make(count: 500, at: at)
        #expect(Set(ids).count == 500)
        for id in ids {
            #expect(id.utf8.count == 24 && id.allSatisfy { "0123456789abcdef".contains($0) }, "\(id)")
            #expect(UInt64(id.prefix(12), radix: 16) == 1_893_456_000_123)
        }
        #expect(try #require(MessagePublicId.make(count: 1, at: Date(timeIntervalSince1970: 0)).first).hasPrefix("000000000000"))
    }
}
