import Foundation
import Testing

@testable import CrierWeb

@Suite("Form bodies")
struct WebFormTests {
    @Test("fields decode as Foundation's percent-decoding does, + as a space", arguments: [
        "plain", "a+b", "%41%42", "caf%C3%A9", "%e2%9c%93+done", "100%25", "", "%", "%4", "%zz", "%C3", "%FF%FE",
        "a%2Bb", "%20%2B+", "%0D%0A", "é", "x%", "%%41",
    ])
    func decoding(_ part: String) {
        let foundation = part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        #expect(WebForm.decode(Substring(part)) == foundation, "\(part)")
    }

    @Test("a form keeps every field in order, repeated ones too; a bad escape refuses the whole form")
    func parsing() throws {
        let form = try #require(WebForm.parse("_csrf=t&groupId=1%40g.us&groupId=2%40g.us&title=Choir+drive&empty="))
        #expect(form.all("groupId") == ["1@g.us", "2@g.us"])
        #expect(form["title"] == "Choir drive" && form["empty"] == "")
        #expect(WebForm.parse("title=%E0%A4") == nil)
    }
}
