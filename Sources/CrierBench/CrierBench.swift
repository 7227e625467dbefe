import ArgumentParser

/// Crier's benchmarks, one sub-command per scenario of BENCHMARKS.md. Each starts what it measures
/// (the WAHA double and the server as child processes, a fresh database), prints a table or, with
/// `--json`, one JSON object, and cleans up.
@main
struct CrierBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crier-bench", abstract: "Crier's benchmarks; figures go in BENCHMARKS.md.",
        subcommands: [
            BurstBench.self, SteadyBench.self, CreateBench.self, CreateDailyBench.self, ListingBench.self,
            PreviewBench.self, GatewayFloorBench.self, RecordsFloorBench.self, DashboardBench.self, ServerChild.self,
            WAHADoubleChild.self,
        ])
}
