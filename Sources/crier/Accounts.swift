import ArgumentParser
import CrierCore
import CrierServer
import CrierService
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage user accounts.", subcommands: [AddUser.self])
}

struct AddUser: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Create a user. The password is read as one line from stdin when it is not a terminal, else prompted.")

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: "The user's email address (their login).") var email: String
    @Option(help: "Display name.") var name: String?
    @Flag(help: "Make the user an administrator.") var admin = false

    func run() async throws {
        let store = try openStore(try databaseOptions.location())
        try await store.migrate()
        let password = try PasswordInput.read()
        do {
            let user = try await AccountService(store: store, clock: SystemWallClock())
                .addUser(email: email, name: name, password: password, isAdmin: admin)
            print("Created user \(user.email)\(user.isAdmin ? " (admin)" : "").")
        } catch let error as CampaignValidationError {
            throw ValidationError(error.message)
        } catch let error as DomainError {
            throw ValidationError(error.message)
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Manage API tokens.", subcommands: [CreateToken.self])
}

struct CreateToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an API token for a user and print it, alone, on stdout.")

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: "The user's email address.") var email: String
    @Option(help: "A label to recognise the token by.") var label: String?

    func run() async throws {
        let store = try openStore(try databaseOptions.location())
        try await store.migrate()
        do {
            print(try await AccountService(store: store, clock: SystemWallClock()).createToken(email: email, label: label))
        } catch let error as DomainError {
            throw ValidationError(error.message)
        }
    }
}

/// Reads a password without echoing it on a terminal, or as one line from a pipe.
enum PasswordInput {
    static func read() throws -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            guard let line = readLine(strippingNewline: true) else { throw ValidationError("No password on stdin") }
            return line
        }
        let first = try prompt("Password: ")
        guard try prompt("Repeat password: ") == first else { throw ValidationError("Passwords do not match") }
        return first
    }

    private static func prompt(_ text: String) throws -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var original = termios()
        tcgetattr(STDIN_FILENO, &original)
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSANOW, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSANOW, &original)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else { throw ValidationError("No password given") }
        return line
    }
}
