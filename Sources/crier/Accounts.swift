import ArgumentParser
import CrierCore
import CrierServer
import CrierService
import CrierStorage
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage user accounts.", subcommands: [AddUser.self, ListUsers.self, SetPassword.self])
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
        try await reportingFailures {
            let store = try await databaseOptions.existingStore()
            let password = try PasswordInput.read()
            let user = try await AccountService(store: store, clock: SystemWallClock())
                .addUser(email: email, name: name, password: password, isAdmin: admin)
            print("Created user \(user.email)\(user.isAdmin ? " (admin)" : "").")
        }
    }
}

struct SetPassword: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-password",
        abstract: "Set a user's password (read as one line from stdin when it is not a terminal, else prompted); their dashboard sign-ins end.")

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: "The user's email address.") var email: String

    func run() async throws {
        try await reportingFailures {
            let store = try await databaseOptions.existingStore()
            let password = try PasswordInput.read()
            try await AccountService(store: store, clock: SystemWallClock()).setPassword(email: email, to: password)
            print("Password set for \(email); their dashboard sign-ins have ended.")
        }
    }
}

struct ListUsers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List users, oldest first.")

    @OptionGroup var databaseOptions: DatabaseOptions

    func run() async throws {
        try await reportingFailures {
            let users = try await AccountService(store: try await databaseOptions.existingStore(), clock: SystemWallClock())
                .users()
            for user in users {
                print([user.email, user.isAdmin ? "admin" : "user", user.name ?? ""].joined(separator: "\t"))
            }
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Manage API tokens.",
        subcommands: [CreateToken.self, ListTokens.self, RevokeToken.self])
}

struct CreateToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an API token for a user and print it, alone, on stdout.")

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: "The user's email address.") var email: String
    @Option(help: "A label to recognise the token by.") var label: String?

    func run() async throws {
        try await reportingFailures {
            let accounts = AccountService(store: try await databaseOptions.existingStore(), clock: SystemWallClock())
            print(try await accounts.createToken(email: email, label: label))
        }
    }
}

struct ListTokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a user's API tokens: id, label, created, last used (never the token).")

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: "The user's email address.") var email: String

    func run() async throws {
        try await reportingFailures {
            let accounts = AccountService(store: try await databaseOptions.existingStore(), clock: SystemWallClock())
            for token in try await accounts.tokens(email: email) {
                let used = token.lastUsedAt.map { $0.formatted(.iso8601) } ?? "never used"
                print([token.id, token.label ?? "", token.createdAt.formatted(.iso8601), used].joined(separator: "\t"))
            }
        }
    }
}

struct RevokeToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke one of a user's API tokens, by the id `token list` shows.")

    @OptionGroup var databaseOptions: DatabaseOptions
    @Argument(help: "The user's email address.") var email: String
    @Argument(help: "The token's id.") var id: String

    func run() async throws {
        try await reportingFailures {
            let accounts = AccountService(store: try await databaseOptions.existingStore(), clock: SystemWallClock())
            try await accounts.revokeToken(id: id, email: email)
            print("Revoked token \(id).")
        }
    }
}

/// Reads a password without echoing it on a terminal, or as one line from a pipe. Its length is
/// checked before it is asked for a second time.
enum PasswordInput {
    static func read() throws -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            guard let line = readLine(strippingNewline: true) else { throw ConfigurationError("No password on stdin") }
            try AccountService.checkPassword(line)
            return line
        }
        let first = try prompt("Password: ")
        try AccountService.checkPassword(first)
        guard try prompt("Repeat password: ") == first else { throw ConfigurationError("Passwords do not match") }
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
        guard let line = readLine(strippingNewline: true) else { throw ConfigurationError("No password given") }
        return line
    }
}
