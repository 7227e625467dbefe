/// A request the domain refuses for a reason other than bad input; the HTTP layer maps each case to
/// a status (not found → 404, conflict → 409) and passes `code` and `message` through.
public enum DomainError: Error, Hashable, Sendable {
    case notFound(code: String, message: String)
    case conflict(code: String, message: String)
    case forbidden(code: String, message: String)
    /// A request parameter that is not the caller's to use (a cursor from elsewhere).
    case invalid(field: String, code: String, message: String)
    /// More than the user may keep (`UserQuota`); `isSize` when it is bytes rather than a count.
    case overQuota(code: String, message: String, isSize: Bool)

    public static let campaignNotFound = DomainError.notFound(
        code: "campaign_not_found", message: "Campaign not found or access denied")
    public static let campaignAlreadySent = DomainError.conflict(
        code: "campaign_already_sent", message: "Cannot edit campaign with messages that have already been sent")
    public static let nothingUpcoming = DomainError.conflict(
        code: "nothing_upcoming", message: "This campaign has no messages left to send")
    public static let campaignDeleted = DomainError.conflict(
        code: "campaign_deleted", message: "Cannot edit a deleted campaign")
    public static let sessionNotFound = DomainError.notFound(
        code: "session_not_found", message: "Session not found or access denied")
    public static let sessionNameTaken = DomainError.conflict(
        code: "session_name_taken", message: "A session with this name is registered by another user")
    public static let emailTaken = DomainError.conflict(
        code: "email_taken", message: "A user with this email already exists")
    public static let signUpsClosed = DomainError.conflict(
        code: "sign_ups_closed", message: "Many accounts are waiting for approval already; try again once an administrator has seen them")
    public static let resetLinkInvalid = DomainError.notFound(
        code: "reset_link_invalid", message: "This reset link has been used or has expired; ask an administrator for a new one")
    public static let userNotFound = DomainError.notFound(code: "user_not_found", message: "No user with this email")
    public static let accountNotFound = DomainError.notFound(code: "user_not_found", message: "No such user")
    public static let adminOnly = DomainError.forbidden(code: "admin_only", message: "Only an administrator can do this")
    public static let notYourself = DomainError.conflict(
        code: "not_yourself", message: "Administrators cannot revoke or delete their own account")
    public static let tokenNotFound = DomainError.notFound(code: "token_not_found", message: "No such API token")
    public static let invalidCursor = DomainError.invalid(
        field: "cursor", code: "invalid_input", message: "cursor must be a value returned in X-Next-Cursor")
    public static func sessionOwnedElsewhere(_ name: String) -> DomainError {
        .forbidden(
            code: "session_not_yours",
            message: "A session named '\(name)' already exists at the gateway and was not created through Crier by you; "
                + "an administrator can register it")
    }

    public var code: String {
        switch self {
        case .notFound(let code, _), .conflict(let code, _), .forbidden(let code, _), .invalid(_, let code, _),
            .overQuota(let code, _, _):
            code
        }
    }

    public var message: String {
        switch self {
        case .notFound(_, let message), .conflict(_, let message), .forbidden(_, let message),
            .invalid(_, _, let message), .overQuota(_, let message, _):
            message
        }
    }
}
