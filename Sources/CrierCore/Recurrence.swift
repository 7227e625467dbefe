/// How often a recurring campaign repeats, counted from its start date.
public enum Recurrence: String, CaseIterable, Sendable, Codable {
    case daily = "DAILY"
    case weekly = "WEEKLY"
    case semiMonthly = "SEMI_MONTHLY"
    case monthly = "MONTHLY"
    case semiAnnually = "SEMI_ANNUALLY"
    case annually = "ANNUALLY"
}

/// Who a campaign talks to; decides which chat ids are acceptable.
public enum AudienceType: String, CaseIterable, Sendable, Codable {
    case groups
    case individuals
}
