import CrierCore
import CrierGateway
import CrierStorage

extension StoredCampaign {
    /// What the organiser must see about this campaign (`Attention`), its number's last known status
    /// put in words.
    public var attention: [Attention] {
        let problem = sessionStatus.flatMap(SessionStatus.init(rawValue:)).flatMap { $0 == .working ? nil : $0.words }
        return Attention.of(
            tally: tally, isDeleted: deletedAt != nil, sessionProblem: problem, waitingReason: waitingReason)
    }
}
