import CrierCore
import Testing

@Suite("Campaign input validation")
struct CampaignValidatorTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let name: String
        let change: @Sendable (inout CampaignInput) -> Void
        let field: String
        let message: String
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "missing groupId", change: { $0.groupId = nil }, field: "groupId", message: "groupId is required"),
        Row(name: "group without @g.us", change: { $0.groupId = "12345@c.us" }, field: "groupId",
            message: "For audienceType groups, groupId must be a group chat id ending in @g.us"),
        Row(name: "bare @g.us", change: { $0.groupId = "@g.us" }, field: "groupId",
            message: "For audienceType groups, groupId must be a group chat id ending in @g.us"),
        Row(name: "individual with a group id", change: { $0.audienceType = "individuals"; $0.groupId = "1@g.us" },
            field: "groupId",
            message: "For audienceType individuals, groupId must be a chat id ending in @c.us or @lid, or a phone number"),
        Row(name: "individual with letters", change: { $0.audienceType = "individuals"; $0.groupId = "call me" },
            field: "groupId",
            message: "For audienceType individuals, groupId must be a chat id ending in @c.us or @lid, or a phone number"),
        Row(name: "unknown audience", change: { $0.audienceType = "channels" }, field: "audienceType",
            message: "Invalid audienceType: expected one of groups, individuals"),
        Row(name: "blank groupName", change: { $0.groupName = "   " }, field: "groupName", message: "groupName is required"),
        Row(name: "long groupName", change: { $0.groupName = String(repeating: "n", count: 257) }, field: "groupName",
            message: "groupName must be at most 256 characters"),
        Row(name: "missing sessionId", change: { $0.sessionId = nil }, field: "sessionId", message: "sessionId is required"),
        Row(name: "long title", change: { $0.title = String(repeating: "t", count: 201) }, field: "title",
            message: "title must be at most 200 characters"),
        Row(name: "long target", change: { $0.targetAmount = String(repeating: "9", count: 101) }, field: "targetAmount",
            message: "targetAmount must be at most 100 characters"),
        Row(name: "missing startDate", change: { $0.startDate = nil }, field: "startDate", message: "startDate is required"),
        Row(name: "bad startDate", change: { $0.startDate = "03/01/2026" }, field: "startDate",
            message: "Invalid date format: use YYYY-MM-DD"),
        Row(name: "impossible endDate", change: { $0.endDate = "2026-02-30" }, field: "endDate",
            message: "Invalid date: 2026-02-30 does not exist"),
        // Year 9995+ used to trap in date arithmetic and kill the server (issue 11).
        Row(name: "start in year 9995", change: { $0.startDate = "9995-01-01"; $0.endDate = "9999-12-31" },
            field: "startDate", message: "startDate must be in the years 1970 to 2199"),
        Row(name: "end in year 9999", change: { $0.endDate = "9999-12-31" }, field: "endDate",
            message: "endDate must be in the years 1970 to 2199"),
        Row(name: "start before 1970", change: { $0.startDate = "1969-12-31" }, field: "startDate",
            message: "startDate must be in the years 1970 to 2199"),
        Row(name: "year 0000", change: { $0.startDate = "0000-01-01" }, field: "startDate",
            message: "startDate must be in the years 1970 to 2199"),
        // A NUL used to pass the @g.us check and be stored cut at the NUL (issue 11).
        Row(name: "NUL in groupId", change: { $0.groupId = "120363025\u{0}x@g.us" }, field: "groupId",
            message: "groupId must not contain control characters (found U+0000)"),
        Row(name: "escape in groupName", change: { $0.groupName = "choir\u{1B}[31m" }, field: "groupName",
            message: "groupName must not contain control characters (found U+001B)"),
        Row(name: "newline in title", change: { $0.title = "Roof\nfund" }, field: "title",
            message: "title must not contain control characters (found U+000A)"),
        Row(name: "C1 control in targetAmount", change: { $0.targetAmount = "KES\u{85}50" }, field: "targetAmount",
            message: "targetAmount must not contain control characters (found U+0085)"),
        Row(name: "NUL in template", change: { $0.messageTemplate = "left\u{0}" }, field: "messageTemplate",
            message: "messageTemplate must not contain control characters (found U+0000)"),
        Row(name: "lone CR in template", change: { $0.messageTemplate = "a\rb" }, field: "messageTemplate",
            message: "messageTemplate must not contain control characters (found U+000D)"),
        Row(name: "NUL in time zone", change: { $0.timeZone = "UTC\u{0}" }, field: "timeZone",
            message: "timeZone must not contain control characters (found U+0000)"),
        // One grapheme of 50,000 combining accents used to count as one character (issue 11).
        Row(name: "combining-mark flood in title",
            change: { $0.title = "e" + String(repeating: "\u{301}", count: 50_000) }, field: "title",
            message: "title must be at most 200 characters"),
        Row(name: "unknown placeholder", change: { $0.messageTemplate = "{dayz_left} days" }, field: "messageTemplate",
            message: "Unknown placeholder {dayz_left}: the known placeholders are {days_left}"),
        Row(name: "end before start", change: { $0.endDate = "2026-02-28" }, field: "endDate",
            message: "End date must be after start date"),
        Row(name: "span over five years", change: { $0.endDate = "2031-03-02" }, field: "endDate",
            message: "A campaign may span at most 5 years"),
        Row(name: "missing time", change: { $0.messageTime = nil }, field: "messageTime", message: "messageTime is required"),
        Row(name: "bad time", change: { $0.messageTime = "24:00" }, field: "messageTime", message: "Invalid time format"),
        Row(name: "am/pm time", change: { $0.messageTime = "9:30 AM" }, field: "messageTime", message: "Invalid time format"),
        Row(name: "unknown zone", change: { $0.timeZone = "Mars/Olympus" }, field: "timeZone", message: "Invalid time zone"),
        Row(name: "abbreviation zone", change: { $0.timeZone = "EAT" }, field: "timeZone", message: "Invalid time zone"),
        Row(name: "blank template", change: { $0.messageTemplate = " \n " }, field: "messageTemplate",
            message: "messageTemplate is required"),
        Row(name: "missing isRecurring", change: { $0.isRecurring = nil }, field: "isRecurring",
            message: "isRecurring is required"),
        Row(name: "unknown recurrence", change: { $0.recurrence = "daily" }, field: "recurrence",
            message: "Invalid recurrence: expected one of DAILY, WEEKLY, SEMI_MONTHLY, MONTHLY, SEMI_ANNUALLY, ANNUALLY"),
    ]

    @Test("rejects with the field and message", arguments: rows)
    func rejects(_ row: Row) {
        var input = sampleInput()
        row.change(&input)
        #expect(throws: CampaignValidationError(field: row.field, message: row.message)) {
            try CampaignValidator().validate(input)
        }
    }

    @Test("individual phone numbers are normalised to @c.us", arguments: [
        ("+254 712-345 678", "254712345678@c.us"), ("254712345678", "254712345678@c.us"),
        ("254712345678@c.us", "254712345678@c.us"), ("9876543210@lid", "9876543210@lid"),
    ])
    func phoneNumbers(_ given: String, _ chatId: String) throws {
        var input = sampleInput()
        input.audienceType = "individuals"
        input.groupId = given
        #expect(try CampaignValidator().validate(input).groupId == chatId)
    }

    @Test("defaults: zone from the server, DAILY, groups, not free-form; blank optionals are absent")
    func defaults() throws {
        var input = sampleInput(zone: nil, title: "", target: " ")
        input.recurrence = nil
        let settings = try CampaignValidator(defaultTimeZone: "Africa/Nairobi").validate(input)
        #expect(settings.timeZoneIdentifier == "Africa/Nairobi")
        #expect(settings.schedule.recurrence == .daily)
        #expect(settings.audienceType == .groups)
        #expect(settings.isFreeForm == false)
        #expect(settings.title == nil)
        #expect(settings.targetAmount == nil)
    }

    @Test("templates keep newlines, tabs and braces that are not placeholders; CRLF is read as LF")
    func templateText() throws {
        var input = sampleInput()
        input.messageTemplate = "Line one\r\n\tLine two {days_left} { not one } {} {x y}"
        #expect(try CampaignValidator().validate(input).template == "Line one\n\tLine two {days_left} { not one } {} {x y}")
    }

    @Test("text limits hold for characters outside ASCII up to 4 bytes each")
    func multibyteLimits() throws {
        var input = sampleInput()
        input.title = String(repeating: "😀", count: 200)  // 4 bytes each
        #expect(try CampaignValidator().validate(input).title?.count == 200)
    }

    @Test("dates at the edges of 1970–2199 are valid; a past start is still valid")
    func yearEdges() throws {
        var input = sampleInput()
        input.startDate = "2199-12-01"
        input.endDate = "2199-12-31"
        #expect(throws: Never.self) { try CampaignValidator().validate(input) }
        input.startDate = "1970-01-01"
        input.endDate = "1970-01-02"
        #expect(throws: Never.self) { try CampaignValidator().validate(input) }
    }

    @Test("end date equal to start date and a span of exactly five years are allowed")
    func boundaries() throws {
        var input = sampleInput(end: "2026-03-01")
        #expect(throws: Never.self) { try CampaignValidator().validate(input) }
        input.endDate = "2031-03-01"
        #expect(throws: Never.self) { try CampaignValidator().validate(input) }
    }
}

@Suite("Campaign status")
struct CampaignStatusTests {
    @Test("derived from message states", arguments: [
        ([MessageStatus.pending: 3], false, CampaignStatus.scheduled),
        ([.pending: 2, .failed: 1], false, .scheduled),
        ([.sending: 1, .pending: 2], false, .scheduled),
        ([.sent: 1, .pending: 2], false, .inProgress),
        ([.sent: 1, .sending: 1], false, .inProgress),
        ([.sent: 3], false, .completed),
        ([.sent: 2, .missed: 1], false, .failed),
        ([.sent: 2, .failed: 1], false, .failed),
        ([.sent: 1, .pending: 2], true, .cancelled),
    ])
    func derive(_ counts: [MessageStatus: Int], _ deleted: Bool, _ expected: CampaignStatus) {
        #expect(CampaignStatus.derive(isDeleted: deleted, tally: MessageTally(counts)) == expected)
    }
}
