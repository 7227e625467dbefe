import CrierCore
import Testing

@Suite("IP addresses: parsing, networks and the keys clients are counted by")
struct IPAddressTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let text: String
        let key: String?
        let why: String
        var testDescription: String { why }
    }

    @Test(arguments: [
        Row(text: "203.0.113.7", key: "203.0.113.7", why: "IPv4: the address itself"),
        Row(text: "::ffff:203.0.113.7", key: "203.0.113.7", why: "IPv4 written as IPv6 is the same client"),
        Row(text: "127.0.0.1", key: "127.0.0.0/8", why: "loopback: all of 127/8 is one key"),
        Row(text: "127.45.3.2", key: "127.0.0.0/8", why: "another loopback address gets no fresh budget"),
        Row(text: "2001:db8:1:2:aaaa:bbbb:cccc:dddd", key: "2001:db8:1:2::/64", why: "IPv6: the /64 one subscriber gets"),
        Row(text: "2001:db8:1:2::99", key: "2001:db8:1:2::/64", why: "another address of that /64 is the same client"),
        Row(text: "[2001:db8::1]", key: "2001:db8::/64", why: "brackets as in a URL"),
        Row(text: "fe80::1%eth0", key: "fe80::/64", why: "a zone is not part of the address"),
        Row(text: "not an address", key: nil, why: "garbage is no address"),
        Row(text: "1.2.3.4.5", key: nil, why: "five octets are no address"),
        Row(text: "", key: nil, why: "nothing is no address"),
    ])
    func networkKeys(_ row: Row) {
        #expect(IPAddress(row.text)?.networkKey == row.key)
    }

    @Test("networks contain what their prefix says, and nothing of the other family")
    func networks() throws {
        let private10 = try #require(IPNetwork("10.0.0.0/8"))
        #expect(private10.contains(try #require(IPAddress("10.200.1.1"))))
        #expect(!private10.contains(try #require(IPAddress("11.0.0.1"))))
        let odd = try #require(IPNetwork("192.168.1.128/25"))
        #expect(odd.contains(try #require(IPAddress("192.168.1.200"))))
        #expect(!odd.contains(try #require(IPAddress("192.168.1.100"))))
        let single = try #require(IPNetwork("127.0.0.1"))
        #expect(single.contains(try #require(IPAddress("127.0.0.1"))))
        #expect(!single.contains(try #require(IPAddress("127.0.0.2"))))
        #expect(!single.contains(try #require(IPAddress("::1"))))
        let v6 = try #require(IPNetwork("2001:db8::/32"))
        #expect(v6.contains(try #require(IPAddress("2001:db8:ffff::1"))))
        #expect(!v6.contains(try #require(IPAddress("2001:db9::1"))))
        for bad in ["10.0.0.0/33", "10.0.0.0/-1", "::/129", "x/8", "10.0.0.0/"] { #expect(IPNetwork(bad) == nil, "\(bad)") }
        #expect(try #require(IPAddress("::1")).isLoopback)
        #expect(try !(#require(IPAddress("::2")).isLoopback))
    }
}

@Suite("User quota: which limit a new schedule passes")
struct UserQuotaTests {
    @Test("campaigns, then messages, then bytes; an edit opens no campaign")
    func excess() {
        let quota = UserQuota(campaigns: 2, messages: 10, bytes: 100)
        let full = UserQuota.Usage(campaigns: 2, messages: 0, bytes: 0)
        let one = UserQuota.Usage(template: "hi", messages: ["a", "b"], opensCampaign: true)
        #expect(one.messages == 2 && one.bytes == 4 && one.campaigns == 1)
        #expect(quota.excess(current: full, adding: one)?.code == "quota_campaigns")
        let edit = UserQuota.Usage(template: "hi", messages: ["a", "b"], opensCampaign: false)
        #expect(quota.excess(current: full, adding: edit) == nil, "an edit of an open campaign opens none")
        let many = UserQuota.Usage(template: "", messages: Array(repeating: "x", count: 11), opensCampaign: false)
        #expect(quota.excess(current: .init(campaigns: 0, messages: 0, bytes: 0), adding: many)?.code == "quota_messages")
        let long = UserQuota.Usage(template: String(repeating: "é", count: 60), messages: [], opensCampaign: false)
        guard case .overQuota(let code, _, let isSize)? = quota.excess(current: .init(campaigns: 0, messages: 0, bytes: 0), adding: long)
        else { Issue.record("120 bytes pass a 100-byte quota"); return }
        #expect(code == "quota_bytes" && isSize, "bytes are UTF-8 bytes, and a size")
    }
}
