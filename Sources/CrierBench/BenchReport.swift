import ArgumentParser
import Foundation

/// The options every scenario takes.
struct CommonOptions: ParsableArguments {
    @Option(help: "How many runs, each from a fresh database; medians are reported.") var runs = 3
    @Flag(help: "Print one JSON object with every figure instead of the table.") var json = false
    @Flag(help: "A tiny size that proves the scenario still works (CI), not a measurement.") var quick = false

    func validate() throws {
        guard (1...100).contains(runs) else { throw ValidationError("--runs: from 1 to 100") }
    }

    /// Measures `runs` times into `report`, then prints it.
    func measure(into report: BenchReport, _ run: () async throws -> [String: Double]) async throws {
        var report = report
        for index in 1...runs {
            report.add(run: try await run())
            progress("\(report.scenario) run \(index) of \(runs) done")
        }
        report.print(json: json)
    }
}

/// One figure a scenario reports, with its unit and the target where there is one.
struct Figure {
    enum Target {
        case atLeast(Double)
        case atMost(Double)

        func isMet(by value: Double) -> Bool {
            switch self {
            case .atLeast(let bound): value >= bound
            case .atMost(let bound): value <= bound
            }
        }

        var text: String {
            switch self {
            case .atLeast(let bound): "≥ \(formatted(bound))"
            case .atMost(let bound): "≤ \(formatted(bound))"
            }
        }
    }

    let key: String
    let label: String
    let unit: String
    var target: Target? = nil
}

/// A scenario's result: its parameters, every run's figures and their medians, the machine, the
/// revision and the date. Printed as a table for people and as one JSON object for tools.
struct BenchReport {
    let scenario: String
    let parameters: [(String, String)]
    let figures: [Figure]
    private(set) var runs: [[String: Double]] = []

    init(scenario: String, parameters: [(String, String)], figures: [Figure]) {
        self.scenario = scenario
        self.parameters = parameters
        self.figures = figures
    }

    mutating func add(run: [String: Double]) { runs.append(run) }

    var medians: [String: Double] {
        var result: [String: Double] = [:]
        for figure in figures {
            let values = runs.compactMap { $0[figure.key] }
            if !values.isEmpty { result[figure.key] = median(values) }
        }
        return result
    }

    func print(json: Bool) {
        if json {
            Swift.print(jsonText)
        } else {
            Swift.print(table)
        }
    }

    var table: String {
        var lines = ["\(scenario): " + parameters.map { "\($0.0) \($0.1)" }.joined(separator: ", ")]
        lines.append("\(Self.machineCores) cores, revision \(Self.gitRevision), \(Self.date)")
        let medians = medians
        var rows = [["figure"] + runs.indices.map { "run \($0 + 1)" } + ["median", "target"]]
        for figure in figures {
            let values = runs.map { $0[figure.key].map(formatted) ?? "–" }
            let middle = medians[figure.key]
            var target = ""
            if let goal = figure.target, let middle { target = goal.text + (goal.isMet(by: middle) ? "  met" : "  MISSED") }
            rows.append(["\(figure.label) (\(figure.unit))"] + values + [middle.map(formatted) ?? "–", target])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(
                zip(row, widths).enumerated().map { column, cell in
                    column == 0 ? cell.0.padding(toLength: cell.1, withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: cell.1 - cell.0.count) + cell.0
                }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    var jsonText: String {
        let medians = medians
        var targets: [String: Any] = [:]
        for figure in figures {
            guard let goal = figure.target else { continue }
            var entry: [String: Any] = ["target": goal.text]
            if let middle = medians[figure.key] { entry["met"] = goal.isMet(by: middle) }
            targets[figure.key] = entry
        }
        let object: [String: Any] = [
            "scenario": scenario,
            "parameters": Dictionary(parameters, uniquingKeysWith: { first, _ in first }),
            "units": Dictionary(figures.map { ($0.key, $0.unit) }, uniquingKeysWith: { first, _ in first }),
            "machine": ["cores": Self.machineCores, "os": ProcessInfo.processInfo.operatingSystemVersionString],
            "gitRevision": Self.gitRevision, "date": Self.date,
            "runs": runs, "median": medians, "targets": targets,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static var machineCores: Int { ProcessInfo.processInfo.activeProcessorCount }

    static var date: String { ISO8601DateFormatter().string(from: Date()) }

    /// The commit the benchmark was built from (its binary lives in the work tree's `.build`), with
    /// `+changes` when the work tree differs from it.
    static let gitRevision: String = {
        let tree = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        guard let revision = run("git", "-C", tree, "rev-parse", "--short", "HEAD"), !revision.isEmpty else { return "unknown" }
        let changes = run("git", "-C", tree, "status", "--porcelain", "--untracked-files=no") ?? ""
        return changes.isEmpty ? revision : revision + "+changes"
    }()

    private static func run(_ arguments: String...) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A figure as people read it: thousands separated, a few significant decimals.
func formatted(_ value: Double) -> String {
    let digits = value == value.rounded() || abs(value) >= 100 ? 0 : abs(value) >= 10 ? 1 : abs(value) >= 1 ? 2 : 3
    let formatter = NumberFormatter()
    formatter.numberStyle = .decimal
    formatter.minimumFractionDigits = digits
    formatter.maximumFractionDigits = digits
    formatter.locale = Locale(identifier: "en_US")
    return formatter.string(from: NSNumber(value: value)) ?? String(value)
}
