import Synchronization
import Testing

import CrierStorage

@Suite("Group commit")
struct GroupCommitTests {
    struct WriteFailed: Error {}

    @Test("concurrent writes share batches, each caller gets its own result, in order")
    func batches() async throws {
        let batches = Mutex<[[Int]]>([])
        let commit = GroupCommit<Int, Bool>(maxBatch: 16) { items in
            batches.withLock { $0.append(items) }
            try await Task.sleep(for: .milliseconds(5))  // a write takes time: others queue meanwhile
            return items.map { .success($0 % 2 == 0) }
        }
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for item in 0..<100 { group.addTask { (item, try await commit.submit(item)) } }
            return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 100 && results.allSatisfy { $0.value == ($0.key % 2 == 0) })
        let written = batches.withLock { $0 }
        #expect(written.flatMap { $0 }.sorted() == Array(0..<100), "each item written exactly once")
        #expect(written.count < 100, "items waiting during a write went in one batch")
        #expect(written.allSatisfy { $0.count <= 16 })
    }

    @Test("a failed write fails every caller in its batch, one item can fail alone, and the next write still happens")
    func failure() async throws {
        let fail = Mutex(true)
        let commit = GroupCommit<Int, Bool> { items in
            if fail.withLock({ $0 }) { throw WriteFailed() }
            return items.map { $0 == 3 ? .failure(WriteFailed()) : .success(true) }
        }
        await #expect(throws: WriteFailed.self) { try await commit.submit(1) }
        fail.withLock { $0 = false }
        #expect(try await commit.submit(2))
        await #expect(throws: WriteFailed.self, "one item's own failure") { try await commit.submit(3) }
    }
}
