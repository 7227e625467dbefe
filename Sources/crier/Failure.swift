import ArgumentParser
import CrierCore
import CrierServer
import CrierStorage
import Foundation

/// Runs a command's work, turning what went wrong into one clear line on stderr and exit status 1
/// (ArgumentParser keeps 64 for usage errors, with the usage text).
func reportingFailures(_ work: () async throws -> Void) async throws {
    do {
        try await work()
    } catch let error as CampaignValidationError {
        throw fail(error.message)
    } catch let error as DomainError {
        throw fail(error.message)
    } catch let error as ConfigurationError {
        throw fail(error.description)
    } catch let error as DatabaseLockError {
        throw fail(error.description)
    }
}

/// Prints `Error: message` on stderr; the returned exit code ends the process with status 1.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
    return .failure
}
