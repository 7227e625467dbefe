import ArgumentParser
import CrierServer

@main
struct Crier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scheduled WhatsApp message campaigns.", version: CrierVersion.current,
        subcommands: [Serve.self, Migrate.self, Backup.self, Restore.self, UserCommand.self, TokenCommand.self])
}
