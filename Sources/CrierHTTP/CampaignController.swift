import CrierCore
import CrierService
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/campaigns`: the campaign operations of DESIGN §4.
struct CampaignController {
    typealias Context = CrierRequestContext
    let campaigns: CampaignService

    static let defaultPageSize = 50
    static let maxPageSize = 200
    /// With `include=messages` a campaign can carry 2,000 messages (up to 2 MB of text), so a page is
    /// smaller: one request's work and answer stay bounded.
    static let maxPageSizeWithMessages = 10

    /// A campaign's public id: a lower-case UUID (`RandomPublicId`), the only thing a cursor can be.
    static func isCampaignId(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        return bytes.enumerated().allSatisfy { index, byte in
            [8, 13, 18, 23].contains(index)
                ? byte == UInt8(ascii: "-")
                : (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        }
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.post(use: create)
        group.get(use: listActive)
        group.get("completed", use: listCompleted)
        group.post("preview", use: preview)
        group.get(":id", use: show)
        group.put(":id", use: update)
        group.patch(":id/upcoming", use: correctUpcoming)
        group.delete(":id", use: delete)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let input = try await CampaignRequest.read(request, context: context, allowed: CampaignRequest.createFields)
        let id = try await campaigns.create(input, for: try context.requireUser())
        return JSONValue.response(.object(["success": .bool(true), "campaignId": .string(id)]), status: .created)
    }

    @Sendable func preview(_ request: Request, context: Context) async throws -> Response {
        let input = try await CampaignRequest.read(request, context: context, allowed: CampaignRequest.createFields)
        let messages = try await campaigns.preview(input, for: try context.requireUser())
        let items = messages.map { message -> JSONValue in
            .object([
                "scheduledAt": .instant(message.scheduledAt), "daysLeft": .int(message.daysLeft),
                "content": .string(message.content),
            ])
        }
        return JSONValue.response(.object(["messages": .array(items)]))
    }

    @Sendable func listActive(_ request: Request, context: Context) async throws -> Response {
        try await list(.active, request: request, context: context)
    }

    @Sendable func listCompleted(_ request: Request, context: Context) async throws -> Response {
        try await list(.completed, request: request, context: context)
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let campaign = try await campaigns.campaign(id: try campaignId(context), for: try context.requireUser())
        return JSONValue.response(CampaignJSON.campaign(campaign))
    }

    @Sendable func update(_ request: Request, context: Context) async throws -> Response {
        let id = try campaignId(context)
        let user = try context.requireUser()
        let input = try await CampaignRequest.read(
            request, context: context, allowed: CampaignRequest.updateFields,
            explainUnknown: { field in
                CampaignRequest.createFields.contains(field)
                    ? "\(field) cannot be changed: a campaign keeps its chat and session"
                    : "Unknown field '\(field)'"
            })
        try await campaigns.update(id: id, with: input, for: user)
        return JSONValue.response(.object(["success": .bool(true), "campaignId": .string(id)]))
    }

    /// `PATCH /api/campaigns/{id}/upcoming`: new text, title, target or header for the messages not yet
    /// sent; a field left out stays as it is, a blank title or target amount removes it.
    @Sendable func correctUpcoming(_ request: Request, context: Context) async throws -> Response {
        let id = try campaignId(context)
        let body = try await JSONObjectReader.read(
            request, context: context, allowed: ["messageTemplate", "title", "targetAmount", "isFreeForm"],
            explainUnknown: { field in
                CampaignRequest.createFields.contains(field)
                    ? "\(field) cannot be corrected here: only the text, title, target amount and header of upcoming messages can"
                    : "Unknown field '\(field)'"
            })
        let correction = UpcomingCorrection(
            messageTemplate: try body.string("messageTemplate"), title: try body.string("title"),
            targetAmount: try body.string("targetAmount"), isFreeForm: try body.bool("isFreeForm"))
        let changed = try await campaigns.correctUpcoming(id: id, with: correction, for: try context.requireUser())
        return JSONValue.response(.object(["success": .bool(true), "campaignId": .string(id), "corrected": .int(changed)]))
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        try await campaigns.delete(id: try campaignId(context), for: try context.requireUser())
        return JSONValue.response(.object(["success": .bool(true)]))
    }

    private func list(_ listing: CampaignListing, request: Request, context: Context) async throws -> Response {
        let query = request.uri.queryParameters
        let include = query.get("include")
        guard include == nil || include == "messages" else {
            throw APIError.invalid("include accepts only 'messages'", field: "include")
        }
        let maxLimit = include == nil ? Self.maxPageSize : Self.maxPageSizeWithMessages
        var limit = min(Self.defaultPageSize, maxLimit)
        if let text = query.get("limit") {
            guard let value = Int(text), (1...maxLimit).contains(value) else {
                let context = include == nil ? "" : " with include=messages"
                throw APIError.invalid("limit must be a whole number from 1 to \(maxLimit)\(context)", field: "limit")
            }
            limit = value
        }
        let cursor = query.get("cursor")
        if let cursor, !Self.isCampaignId(cursor) {
            throw APIError.invalid("cursor must be a value returned in X-Next-Cursor", field: "cursor")
        }
        let page = try await campaigns.campaigns(
            listing, for: try context.requireUser(), limit: limit, cursor: cursor, includeMessages: include != nil)
        var headers = HTTPFields()
        if let next = page.nextCursor { headers[HTTPField.Name("X-Next-Cursor")!] = next }
        return JSONValue.response(.array(page.campaigns.map(CampaignJSON.campaign)), headers: headers)
    }

    private func campaignId(_ context: Context) throws -> String {
        try context.parameters.require("id")
    }
}

/// Reads a create, preview or update body into `CampaignInput`.
enum CampaignRequest {
    static let createFields: Set<String> = [
        "groupId", "groupName", "sessionId", "title", "targetAmount", "startDate", "endDate", "messageTime",
        "timeZone", "messageTemplate", "isFreeForm", "isRecurring", "recurrence", "audienceType",
    ]
    static let updateFields = createFields.subtracting(["groupId", "groupName", "sessionId"])

    static func read(
        _ request: Request, context: some RequestContext, allowed: Set<String>,
        explainUnknown: (String) -> String = { "Unknown field '\($0)'" }
    ) async throws -> CampaignInput {
        let body = try await JSONObjectReader.read(request, context: context, allowed: allowed, explainUnknown: explainUnknown)
        return CampaignInput(
            groupId: try body.string("groupId"), groupName: try body.string("groupName"),
            sessionId: try body.string("sessionId"), title: try body.string("title"),
            targetAmount: try body.string("targetAmount"), startDate: try body.string("startDate"),
            endDate: try body.string("endDate"), messageTime: try body.string("messageTime"),
            timeZone: try body.string("timeZone"), messageTemplate: try body.string("messageTemplate"),
            isFreeForm: try body.bool("isFreeForm"), isRecurring: try body.bool("isRecurring"),
            recurrence: try body.string("recurrence"), audienceType: try body.string("audienceType"))
    }
}

/// The API's `Campaign` and `Message` objects.
enum CampaignJSON {
    static func campaign(_ campaign: StoredCampaign) -> JSONValue {
        let settings = campaign.settings
        let tally = campaign.tally
        var object: [String: JSONValue] = [
            "id": .string(campaign.id),
            "title": .string(settings.title),
            "targetAmount": .string(settings.targetAmount),
            "startDate": .string(settings.schedule.startDate.description),
            "endDate": .string(settings.schedule.endDate.description),
            "messageTime": .string(settings.messageTime.description),
            "sendTimeUtc": .instant(campaign.firstSendAt),
            "timeZone": .string(settings.timeZoneIdentifier),
            "template": .string(settings.template),
            "status": .string(campaign.status.rawValue),
            "createdAt": .instant(campaign.createdAt),
            "isRecurring": .bool(settings.schedule.isRecurring),
            "recurrence": .string(settings.schedule.recurrence.rawValue),
            "isFreeForm": .bool(settings.isFreeForm),
            "audienceType": .string(settings.audienceType.rawValue),
            "group": .object(["groupId": .string(settings.groupId), "groupName": .string(settings.groupName)]),
            "sessionId": .string(campaign.session.id),
            "progress": .object([
                "total": .int(tally.total), "sent": .int(tally[.sent]), "failed": .int(tally[.failed]),
                "missed": .int(tally[.missed]), "pending": .int(tally.notTerminal),
            ]),
            "nextSendAt": .instant(campaign.nextSendAt),
            "attention": .array(campaign.attention.map(attention)),
        ]
        if let messages = campaign.messages { object["messages"] = .array(messages.map(message)) }
        return .object(object)
    }

    static func attention(_ item: Attention) -> JSONValue {
        var object: [String: JSONValue] = ["kind": .string(item.kind.rawValue), "message": .string(item.message)]
        if let count = item.count { object["count"] = .int(count) }
        return .object(object)
    }

    static func message(_ message: StoredMessage) -> JSONValue {
        .object([
            "id": .string(message.publicId),
            "content": .string(message.content),
            "scheduledAt": .instant(message.scheduledAt),
            "sentAt": .instant(message.sentAt),
            "status": .string(message.status.rawValue),
            "isSent": .bool(message.status == .sent),
            "isFailed": .bool(message.status == .failed || message.status == .missed),
            "failedReason": .string(message.failedReason),
            "deliveredAt": .instant(message.deliveredAt),
            "readAt": .instant(message.readAt),
            "attempts": .array(message.attempts.map { attempt in
                .object([
                    "startedAt": .instant(attempt.startedAt), "finishedAt": .instant(attempt.finishedAt),
                    "outcome": .string(attempt.outcome.rawValue),
                    "gatewayStatus": attempt.gatewayStatus.map(JSONValue.int) ?? .null,
                    "reason": .string(attempt.reason),
                ])
            }),
        ])
    }
}
