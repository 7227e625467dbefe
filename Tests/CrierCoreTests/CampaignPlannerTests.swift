import CrierCore
import CrierTestSupport
import Foundation
import Testing

/// A valid input that each test changes in one place.
func sampleInput(
    start: String = "2026-03-01", end: String = "2026-03-03", time: String = "09:30", zone: String? = "UTC",
    template: String = "{days_left} days left", recurring: Bool = false, recurrence: String? = nil,
    title: String? = "Roof fund", target: String? = "KES 50,000", freeForm: Bool? = nil
) -> CampaignInput {
    CampaignInput(
        groupId: "120363025@g.us", groupName: "Church choir", sessionId: "default", title: title,
        targetAmount: target, startDate: start, endDate: end, messageTime: time, timeZone: zone,
        messageTemplate: template, isFreeForm: freeForm, isRecurring: recurring, recurrence: recurrence)
}

func plan(_ input: CampaignInput, now: String = "2026-02-01T00:00:00Z") throws -> [PlannedMessage] {
    try CampaignPlanner.plan(try CampaignValidator().validate(input), now: Date(iso: now))
}

@Suite("Message rendering")
struct MessageRenderingTests {
    @Test func headerWithTitleAndTarget() throws {
        let messages = try plan(sampleInput())
        #expect(messages.map(\.content) == [
            "Campaign Title: Roof fund\nCampaign Start Date: 2026-03-01\nCampaign End Date: 2026-03-03\n"
                + "Contribution Target Amount: KES 50,000\nDays Remaining: 2\n\n2 days left",
            "Campaign Title: Roof fund\nCampaign Start Date: 2026-03-01\nCampaign End Date: 2026-03-03\n"
                + "Contribution Target Amount: KES 50,000\nDays Remaining: 1\n\n1 days left",
            "Campaign Title: Roof fund\nCampaign Start Date: 2026-03-01\nCampaign End Date: 2026-03-03\n"
                + "Contribution Target Amount: KES 50,000\nDays Remaining: 0\n\n0 days left",
        ])
        #expect(messages.map(\.daysLeft) == [2, 1, 0])
        #expect(messages.map(\.scheduledAt.iso) == ["2026-03-01T09:30:00Z", "2026-03-02T09:30:00Z", "2026-03-03T09:30:00Z"])
    }

    @Test func headerWithoutOptionalLines() throws {
        let messages = try plan(sampleInput(end: "2026-03-01", title: "  ", target: nil))
        #expect(messages.map(\.content) == [
            "Campaign Start Date: 2026-03-01\nCampaign End Date: 2026-03-01\nDays Remaining: 0\n\n0 days left"
        ])
    }

    @Test func freeFormHasNoHeader() throws {
        let messages = try plan(sampleInput(template: "Only {days_left} days! Give {days_left} ways", freeForm: true))
        #expect(messages.map(\.content) == ["Only 2 days! Give 2 ways", "Only 1 days! Give 1 ways", "Only 0 days! Give 0 ways"])
    }

    @Test("a countdown keeps asterisks as typed, \\* becomes *")
    func countdownKeepsAsterisks() throws {
        let messages = try plan(sampleInput(end: "2026-03-01", template: "*Bold* and \\*star", freeForm: true))
        #expect(messages.map(\.content) == ["*Bold* and *star"])
    }

    @Test("a recurring sequence uses part i for occurrence i, trimmed, empty parts dropped")
    func sequence() throws {
        let messages = try plan(sampleInput(
            start: "2026-03-01", end: "2026-03-15", template: " First {days_left} * Second \\* star ** * Third ",
            recurring: true, recurrence: "WEEKLY", freeForm: true))
        #expect(messages.map(\.content) == ["First 14", "Second * star", "Third"])
        #expect(messages.map(\.occurrenceDate.description) == ["2026-03-01", "2026-03-08", "2026-03-15"])
    }

    @Test("a recurring template without asterisks repeats for every occurrence")
    func recurringSingle() throws {
        let messages = try plan(sampleInput(
            start: "2026-01-31", end: "2026-03-31", template: "Pay \\*today\\*", recurring: true,
            recurrence: "MONTHLY", freeForm: true), now: "2026-01-01T00:00:00Z")
        #expect(messages.map(\.content) == ["Pay *today*", "Pay *today*", "Pay *today*"])
        #expect(messages.map(\.scheduledAt.iso) == ["2026-01-31T09:30:00Z", "2026-02-28T09:30:00Z", "2026-03-31T09:30:00Z"])
    }

    @Test("sequence count must match the occurrence count", arguments: [
        ("A * B", "WEEKLY", 3, "weekly"),
        ("A * B * C * D", "WEEKLY", 3, "weekly"),
        ("A * B", "SEMI_MONTHLY", 1, "semi_monthly"),
    ])
    func sequenceCountMismatch(_ template: String, _ recurrence: String, _ needed: Int, _ word: String) {
        let end = recurrence == "WEEKLY" ? "2026-03-15" : "2026-03-10"
        #expect(throws: CampaignValidationError(
            field: "messageTemplate",
            message: "For the selected date range and \(word) recurrence, you need exactly \(needed) unique message(s) "
                + "separated by asterisks (*). Or remove the asterisks to use the same message for all occurrences.")
        ) {
            try plan(sampleInput(start: "2026-03-01", end: end, template: template, recurring: true, recurrence: recurrence))
        }
    }

    @Test("a rendered message may not exceed 4096 characters")
    func maxLength() throws {
        let exact = String(repeating: "x", count: 4096)
        #expect(try plan(sampleInput(end: "2026-03-01", template: exact, freeForm: true)).count == 1)
        #expect(throws: CampaignValidationError(
            field: "messageTemplate", message: "The message for 2026-03-01 is longer than the maximum of 4096 characters")
        ) {
            try plan(sampleInput(end: "2026-03-01", template: exact + "y", freeForm: true))
        }
    }

    @Test("a campaign's messages may not hold more than 2 MB of text in all")
    func totalSize() throws {
        // 1827 daily messages (five years) of 1,200 bytes each: every one is legal, together 2.2 MB.
        let long = String(repeating: "x", count: 1_200)
        #expect(throws: CampaignValidationError(
            field: "messageTemplate",
            message: "This campaign's 1827 messages would hold more than 2 MB of text; shorten the template or the date range")
        ) {
            try plan(sampleInput(end: "2031-03-01", template: long, freeForm: true))
        }
        #expect(try plan(sampleInput(end: "2031-03-01", template: String(repeating: "x", count: 1_100), freeForm: true))
            .count == 1827)
    }
}

@Suite("Past occurrences")
struct PastOccurrenceTests {
    @Test("a campaign created at 10:00 for today 09:00 starts tomorrow")
    func skipsToday() throws {
        let messages = try plan(
            sampleInput(start: "2026-03-01", end: "2026-03-03", time: "09:00", template: "A * B * C", recurring: true,
                        freeForm: true),
            now: "2026-03-01T10:00:00Z")
        #expect(messages.map(\.occurrenceDate.description) == ["2026-03-02", "2026-03-03"])
        #expect(messages.map(\.content) == ["B", "C"], "sequence parts stay matched by date from startDate")
        #expect(messages.map(\.occurrenceIndex) == [1, 2])
    }

    @Test("a send time exactly now is kept")
    func keepsNow() throws {
        let messages = try plan(sampleInput(end: "2026-03-01", time: "09:00"), now: "2026-03-01T09:00:00Z")
        #expect(messages.count == 1)
    }

    @Test("no future send time is an error")
    func noFuture() {
        #expect(throws: CampaignValidationError(field: "endDate", message: "Campaign has no send times in the future")) {
            try plan(sampleInput(end: "2026-03-03", time: "09:00"), now: "2026-03-03T09:00:01Z")
        }
    }

    @Test("the local zone decides what is past")
    func zoneDecides() throws {
        // 09:00 in Kathmandu on 2026-03-01 is 03:15Z, already past at 04:00Z.
        let messages = try plan(sampleInput(end: "2026-03-02", time: "09:00", zone: "Asia/Kathmandu"),
                                now: "2026-03-01T04:00:00Z")
        #expect(messages.map(\.scheduledAt.iso) == ["2026-03-02T03:15:00Z"])
    }
}
