import CrierCore
import CrierGateway
import CrierService
import Foundation
import Hummingbird

/// The campaign list (active and completed), the new and edit forms with their live preview, a
/// campaign's page with every message, and deletion.
struct CampaignPages {
    let dashboard: Dashboard
    var campaigns: CampaignService { dashboard.campaigns }

    /// Campaigns per list page.
    static let pageSize = 20
    /// Messages per page of a campaign's page (a year's daily countdown is eight pages, not one long one).
    static let messagesPerPage = 50

    func addRoutes(to router: RouterGroup<WebContext>) {
        router.get("/", use: list)
        router.get("live/banner", use: banner)
        router.get("campaigns/new", use: newPage)
        router.get("campaigns/new/chats", use: chats)
        router.post("campaigns/new", use: create)
        router.post("campaigns/preview", use: preview)
        router.get("campaigns/:campaignId", use: show)
        router.get("campaigns/:campaignId/edit", use: editPage)
        router.post("campaigns/:campaignId/edit", use: update)
        router.get("campaigns/:campaignId/upcoming", use: upcomingPage)
        router.post("campaigns/:campaignId/upcoming", use: correctUpcoming)
        router.get("campaigns/:campaignId/delete", use: deletePage)
        router.post("campaigns/:campaignId/delete", use: delete)
    }

    // MARK: List

    @Sendable func list(_ request: Request, context: WebContext) async throws -> Response {
        guard let user = context.user else {
            let firstRun = try await dashboard.accounts.needsFirstUser()
            return PageRenderer.redirect(to: firstRun ? "/setup" : "/login")
        }
        let completed = request.uri.queryParameters["tab"] == "completed"
        let cursor = request.uri.queryParameters["after"].map(String.init)
        let page = try await campaigns.campaigns(
            completed ? .completed : .active, for: user, limit: Self.pageSize, cursor: cursor, includeMessages: false)
        let tab = completed ? "completed" : "active"
        var values: [String: Any] = [
            "campaigns": page.campaigns.map(CampaignRow.init), "isEmpty": page.campaigns.isEmpty,
            "completedTab": completed, "activeTab": !completed,
            "liveURL": "/?fragment=list&tab=\(tab)" + (cursor.map { "&after=\($0)" } ?? ""),
        ]
        values["nextPage"] = page.nextCursor.map { "/?tab=\(tab)&after=\($0)" }
        if request.uri.queryParameters["fragment"] != nil { return dashboard.fragment("campaign-list", context: context, values) }
        return dashboard.page("campaigns", title: "Campaigns", context: context, notice: Notices.text(request), values)
    }

    /// The banner naming the user's numbers that are not connected, for every page's live part.
    @Sendable func banner(_ request: Request, context: WebContext) async throws -> Response {
        _ = try context.requireUser()
        return dashboard.fragment("banner", context: context)
    }

    // MARK: New

    @Sendable func newPage(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        var form = CampaignForm()
        form.sessionId = request.uri.queryParameters["sessionId"].map(String.init) ?? ""
        form.audienceType = request.uri.queryParameters["audienceType"].map(String.init) ?? AudienceType.groups.rawValue
        return try await formPage(form, user: user, context: context, fresh: true)
    }

    /// The chats of the chosen number and audience, for the form's script to put in place without
    /// touching anything else the organiser typed.
    @Sendable func chats(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        var form = CampaignForm()
        form.sessionId = request.uri.queryParameters["sessionId"].map(String.init) ?? ""
        form.audienceType = request.uri.queryParameters["audienceType"].map(String.init) ?? AudienceType.groups.rawValue
        var values = form.values(chats: await chatList(form, user: user), zones: [])
        values["sessionChosen"] = !form.sessionId.isEmpty
        return dashboard.fragment("campaign-chats", context: context, values)
    }

    @Sendable func create(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let posted = try await WebForm.read(request, context: context)
        let form = CampaignForm(posted)
        let chats = await chatList(form, user: user)
        if posted["intent"] == "chats" { return try await formPage(form, user: user, context: context, chats: chats) }
        let inputs = form.inputs(chatNames: Dictionary(chats.map { ($0.id, $0.name ?? $0.id) }, uniquingKeysWith: { a, _ in a }))
        do {
            if posted["intent"] == "preview", let first = inputs.first {
                let messages = try await campaigns.preview(first, for: user)
                return try await formPage(form, user: user, context: context, chats: chats, preview: messages)
            }
            if !posted.isChecked("confirmNotWorking"), !form.sessionId.isEmpty,
                let session = try? await dashboard.sessions.session(id: form.sessionId, for: user), session.status != .working
            {
                // Warn first: messages would wait for a number that is not connected.
                _ = try await campaigns.preview(inputs[0], for: user)
                return try await formPage(form, user: user, context: context, chats: chats, askConfirm: true)
            }
            let ids = try await campaigns.create(inputs, for: user)
            if ids.count == 1, let id = ids.first { return PageRenderer.redirect(to: "/campaigns/\(id)?notice=campaign-created") }
            return PageRenderer.redirect(to: "/?notice=campaigns-created")
        } catch let error as CampaignValidationError {
            return try await formPage(form, user: user, context: context, chats: chats, error: error)
        }
    }

    /// The live preview: every message the form would send, or the error at its field, as JSON
    /// for the page's script (`{"html": …, "errors": {field: message}}`).
    /// While the input has an error, the preview says so instead of showing the last good messages;
    /// times are shown in the zone the campaign will use (the server's default when none is typed).
    @Sendable func preview(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let form = CampaignForm(try await WebForm.read(request, context: context))
        var body: [String: Any] = ["errors": [String: String]()]
        do {
            let input = form.inputs(chatNames: [:]).first ?? CampaignInput()
            let messages = try await campaigns.preview(input, for: user)
            body["html"] = dashboard.renderer.html(
                "preview", Self.previewValues(messages, zone: zone(of: form), chats: form.groupIds.count))
            body["count"] = messages.count
        } catch let error as CampaignValidationError {
            let message = FormWording.message(error, typed: form.typed(error.field))
            body["errors"] = [error.field: message]
            body["html"] = dashboard.renderer.html("preview", ["problem": message])
        }
        let data = try JSONSerialization.data(withJSONObject: body)
        var headers = PageRenderer.securityHeaders
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func previewValues(_ messages: [PlannedMessage], zone: TimeZone, chats: Int) -> [String: Any] {
        [
            "rows": messages.map { PreviewRow($0, zone: zone) }, "count": messages.count, "hasRows": !messages.isEmpty,
            "chatCount": max(chats, 1), "severalChats": chats > 1,
        ]
    }

    /// The gateway's chats for the form's session and audience; none when the gateway cannot say
    /// (the organiser types the id instead).
    private func chatList(_ form: CampaignForm, user: User) async -> [ChatSummary] {
        guard !form.sessionId.isEmpty else { return [] }
        let chats = form.audienceType == AudienceType.individuals.rawValue
            ? try? await dashboard.sessions.contacts(id: form.sessionId, for: user)
            : try? await dashboard.sessions.groups(id: form.sessionId, for: user)
        return chats ?? []
    }

    /// The zone the campaign will use: the one typed, else the server's default.
    private func zone(of form: CampaignForm) -> TimeZone {
        let typed = form.timeZone.trimmingCharacters(in: .whitespaces)
        return TimeZone(identifier: typed.isEmpty ? dashboard.defaultTimeZone : typed) ?? .gmt
    }

    /// The new-campaign form, everything typed kept. With several numbers none is chosen for the
    /// organiser (a campaign once went to the wrong one); with one, it is that one.
    private func formPage(
        _ form: CampaignForm, user: User, context: WebContext, chats: [ChatSummary]? = nil,
        preview: [PlannedMessage]? = nil, error: CampaignValidationError? = nil, fresh: Bool = false,
        askConfirm: Bool = false
    ) async throws -> Response {
        let sessions = try await dashboard.sessions.sessions(for: user)
        var form = form
        if form.sessionId.isEmpty, sessions.count == 1, let only = sessions.first { form.sessionId = only.session.id }
        let listed: [ChatSummary]
        if let chats { listed = chats } else { listed = await chatList(form, user: user) }
        var values = form.values(chats: listed, zones: TimeZoneNames.all.sorted())
        let chosen = sessions.first { $0.session.id == form.sessionId || $0.session.name == form.sessionId }
        values["sessions"] = sessions.map { view in
            Choice(
                value: view.session.id, label: "\(SessionRow(view).title) — \(view.status?.words ?? "status unknown")",
                selected: view.session.id == chosen?.session.id)
        }
        values["chooseSession"] = chosen == nil
        values["sessionChosen"] = chosen != nil
        values["fresh"] = fresh
        if let chosen, chosen.status != .working {
            values["notWorking"] = true
            values["notWorkingName"] = SessionRow(chosen).title
            values["notWorkingWords"] = chosen.status?.words ?? "its status is unknown"
            values["askConfirm"] = askConfirm
        }
        values["audiences"] = [
            Choice(value: "groups", label: "Groups", selected: form.audienceType != "individuals"),
            Choice(value: "individuals", label: "Individuals", selected: form.audienceType == "individuals"),
        ]
        values["hasSessions"] = !sessions.isEmpty
        values["action"] = "/campaigns/new"
        values["defaultTimeZone"] = dashboard.defaultTimeZone
        addOutcome(to: &values, form: form, preview: preview, error: error)
        return dashboard.page(
            "campaign-form", title: "New campaign", context: context, status: error == nil ? .ok : .badRequest, values)
    }

    /// What a posted form led to: the preview it asked for, or the error at its field.
    func addOutcome(
        to values: inout [String: Any], form: CampaignForm, preview: [PlannedMessage]?, error: CampaignValidationError?
    ) {
        let zone = zone(of: form)
        if let preview { values["preview"] = Self.previewValues(preview, zone: zone, chats: form.groupIds.count) }
        if let error {
            let message = FormWording.message(error, typed: form.typed(error.field))
            values["errors"] = [error.field: message]
            values["errorList"] = [message]
        }
    }

    // MARK: One campaign

    @Sendable func show(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.require("campaignId")
        let campaign = try await campaigns.campaign(id: id, for: user)
        let settings = campaign.settings
        let zone = settings.timeZone
        let canEdit = campaign.deletedAt == nil && campaign.tally[.sent] + campaign.tally[.sending] == 0
        let all = campaign.messages ?? []
        let pages = max(1, (all.count + Self.messagesPerPage - 1) / Self.messagesPerPage)
        // By default the page with the next message to go out (the last one once all are done).
        let upcoming = all.firstIndex { !$0.status.isTerminal }.map { $0 / Self.messagesPerPage + 1 } ?? pages
        let pageNumber = min(max(1, request.uri.queryParameters["page"].flatMap { Int($0) } ?? upcoming), pages)
        let shown = all.dropFirst((pageNumber - 1) * Self.messagesPerPage).prefix(Self.messagesPerPage)
        var values: [String: Any] = [
                "campaign": CampaignRow(campaign),
                "messages": shown.map { MessageRow($0, zone: zone) },
                "paged": pages > 1, "messageCount": all.count,
                "firstShown": (pageNumber - 1) * Self.messagesPerPage + 1,
                "lastShown": (pageNumber - 1) * Self.messagesPerPage + shown.count,
                "liveURL": "/campaigns/\(id)?fragment=detail&page=\(pageNumber)",
                "session": campaign.session.name, "groupId": settings.groupId,
                "schedule": settings.schedule.isRecurring
                    ? Formats.recurrence(settings.schedule.recurrence) : "Every day (countdown)",
                "startDate": Formats.day(settings.schedule.startDate), "endDate": Formats.day(settings.schedule.endDate),
                "messageTime": settings.messageTime.description,
                "canEdit": canEdit,
                "canCorrect": !canEdit && campaign.deletedAt == nil && campaign.tally[.pending] > 0,
                "whyNoEdit": campaign.deletedAt != nil
                    ? "This campaign is deleted."
                    : campaign.tally[.pending] > 0
                        ? "Messages have gone out, so the dates and times stay; the text of those still to send can be corrected."
                        : "Every message has gone out.",
                "canDelete": campaign.deletedAt == nil,
            ]
        values["targetAmount"] = settings.targetAmount
        if pageNumber > 1 { values["previousPage"] = "/campaigns/\(id)?page=\(pageNumber - 1)" }
        if pageNumber < pages { values["nextPage"] = "/campaigns/\(id)?page=\(pageNumber + 1)" }
        if request.uri.queryParameters["fragment"] != nil { return dashboard.fragment("campaign-detail", context: context, values) }
        return dashboard.page(
            "campaign", title: settings.title ?? settings.groupName, context: context, notice: Notices.text(request), values)
    }

    @Sendable func editPage(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let campaign = try await campaigns.campaign(id: context.parameters.require("campaignId"), for: user)
        guard campaign.deletedAt == nil, campaign.tally[.sent] + campaign.tally[.sending] == 0 else {
            // Messages went out: the dates and times stay; the text of those still to send can change.
            return PageRenderer.redirect(to: "/campaigns/\(campaign.id)/upcoming")
        }
        return editForm(CampaignForm(campaign), campaign: campaign, context: context, fresh: true)
    }

    @Sendable func upcomingPage(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let campaign = try await campaigns.campaign(id: context.parameters.require("campaignId"), for: user)
        return upcomingForm(
            campaign: campaign, title: campaign.settings.title ?? "", targetAmount: campaign.settings.targetAmount ?? "",
            template: campaign.settings.template, isFreeForm: campaign.settings.isFreeForm, context: context)
    }

    @Sendable func correctUpcoming(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.require("campaignId")
        let campaign = try await campaigns.campaign(id: id, for: user)
        let form = try await WebForm.read(request, context: context)
        let (title, target, template) = (form["title"] ?? "", form["targetAmount"] ?? "", form["messageTemplate"] ?? "")
        do {
            let changed = try await campaigns.correctUpcoming(
                id: id,
                with: UpcomingCorrection(messageTemplate: template, title: title, targetAmount: target, isFreeForm: form.isChecked("isFreeForm")),
                for: user)
            return PageRenderer.redirect(to: "/campaigns/\(id)?notice=upcoming-corrected-\(changed)")
        } catch let error as CampaignValidationError {
            return upcomingForm(
                campaign: campaign, title: title, targetAmount: target, template: template,
                isFreeForm: form.isChecked("isFreeForm"), context: context, error: error)
        }
    }

    private func upcomingForm(
        campaign: StoredCampaign, title: String, targetAmount: String, template: String, isFreeForm: Bool,
        context: WebContext, error: CampaignValidationError? = nil
    ) -> Response {
        var values: [String: Any] = [
            "campaignId": campaign.id, "campaignTitle": campaign.settings.title ?? campaign.settings.groupName,
            "upcoming": campaign.tally[.pending], "title": title, "targetAmount": targetAmount,
            "messageTemplate": template, "isFreeForm": isFreeForm, "isRecurring": campaign.settings.schedule.isRecurring,
        ]
        if let error {
            let message = FormWording.message(error)
            values["errors"] = [error.field: message]
            values["errorList"] = [message]
        }
        return dashboard.page(
            "campaign-upcoming", title: "Correct upcoming messages", context: context,
            status: error == nil ? .ok : .badRequest, values)
    }

    @Sendable func update(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.require("campaignId")
        let campaign = try await campaigns.campaign(id: id, for: user)
        let posted = try await WebForm.read(request, context: context)
        var form = CampaignForm(posted)
        // The chat and session cannot change (the service keeps the stored ones whatever is sent).
        form.sessionId = campaign.session.id
        form.groupIds = [campaign.settings.groupId]
        form.audienceType = campaign.settings.audienceType.rawValue
        let input = form.inputs(chatNames: [campaign.settings.groupId: campaign.settings.groupName])[0]
        do {
            if posted["intent"] == "preview" {
                let messages = try await campaigns.preview(input, for: user)
                return editForm(form, campaign: campaign, context: context, preview: messages)
            }
            try await campaigns.update(id: id, with: input, for: user)
            return PageRenderer.redirect(to: "/campaigns/\(id)?notice=campaign-updated")
        } catch let error as CampaignValidationError {
            return editForm(form, campaign: campaign, context: context, error: error)
        } catch let error as DomainError where error == .campaignAlreadySent {
            // A message went out meanwhile: the form comes back as typed, with the way forward.
            return editForm(
                form, campaign: campaign, context: context,
                error: CampaignValidationError(
                    field: "startDate",
                    message: "A message has gone out since, so the dates and times can no longer change. "
                        + "Correct the messages still to send instead (Correct upcoming messages)."))
        }
    }

    private func editForm(
        _ form: CampaignForm, campaign: StoredCampaign, context: WebContext, preview: [PlannedMessage]? = nil,
        error: CampaignValidationError? = nil, fresh: Bool = false
    ) -> Response {
        var values = form.values(chats: [], zones: TimeZoneNames.all.sorted())
        values["fresh"] = fresh
        values["isEdit"] = true
        values["action"] = "/campaigns/\(campaign.id)/edit"
        values["campaignId"] = campaign.id
        values["chatLabel"] = "\(campaign.settings.groupName) (\(campaign.settings.groupId))"
        values["groupId"] = campaign.settings.groupId
        values["sessionLabel"] = campaign.session.name
        values["hasSessions"] = true
        values["defaultTimeZone"] = dashboard.defaultTimeZone
        addOutcome(to: &values, form: form, preview: preview, error: error)
        return dashboard.page(
            "campaign-form", title: "Edit campaign", context: context, status: error == nil ? .ok : .badRequest, values)
    }

    // MARK: Delete

    @Sendable func deletePage(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        let campaign = try await campaigns.campaign(id: context.parameters.require("campaignId"), for: user)
        return dashboard.page(
            "campaign-delete", title: "Delete campaign", context: context,
            ["campaign": CampaignRow(campaign), "pending": campaign.tally.notTerminal])
    }

    @Sendable func delete(_ request: Request, context: WebContext) async throws -> Response {
        let user = try context.requireUser()
        _ = try await WebForm.read(request, context: context)
        try await campaigns.delete(id: context.parameters.require("campaignId"), for: user)
        return PageRenderer.redirect(to: "/?notice=campaign-deleted")
    }
}
