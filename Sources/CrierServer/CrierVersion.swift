/// The version `crier --version` prints and the server logs.
public enum CrierVersion {
    public static let current = "0.3.0"
}
