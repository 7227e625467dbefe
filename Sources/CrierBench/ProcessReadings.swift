import Foundation
import Histogram

/// What the operating system says a process has used: CPU seconds (user + system) and resident
/// memory, read from `/proc`, so that a figure is the measured process's own and not the benchmark's.
struct ProcessReadings {
    let pid: Int32

    static var current: ProcessReadings { ProcessReadings(pid: getpid()) }

    /// User + system CPU seconds so far; 0 once the process is gone.
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident memory now, in MiB.
    var residentMiB: Double { statusField("VmRSS") }
    /// The most resident memory the process ever had (its high-water mark), in MiB.
    var peakResidentMiB: Double { statusField("VmHWM") }

    private func statusField(_ name: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return 0 }
        return kilobytes / 1024
    }

    /// CPU seconds of every process named `name` on this machine (PostgreSQL's backends, say).
    static func cpuSeconds(ofProcessesNamed name: String) -> Double {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var total = 0.0
        for entry in entries where entry.allSatisfy(\.isNumber) {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")"),
                stat[stat.index(after: open)..<close] == name
            else { continue }
            total += ProcessReadings(pid: pid).cpuSeconds
        }
        return total
    }
}

/// Durations recorded in an HDR histogram (microsecond resolution, 3 significant digits), so that
/// p50, p99 and max are read the same way in every scenario.
struct LatencyHistogram {
    private var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    var count: Int { Int(histogram.totalCount) }

    /// Records a duration in seconds (negative ones, an early send, count as 0).
    mutating func record(seconds: Double) {
        _ = histogram.record(UInt64(max(0, min(seconds, 3600)) * 1_000_000))
    }

    mutating func record(_ duration: Duration) { record(seconds: duration.seconds) }

    mutating func add(_ other: LatencyHistogram) { histogram.add(other.histogram) }

    /// The value at `percentile` (0–100), in milliseconds.
    func milliseconds(at percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
    var p50: Double { milliseconds(at: 50) }
    var p99: Double { milliseconds(at: 99) }
    var maxMilliseconds: Double { Double(histogram.max) / 1000 }
    var minMilliseconds: Double { Double(histogram.min) / 1000 }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Median of a non-empty list.
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
