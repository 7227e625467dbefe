import CrierCore
import GRDB

extension SQLiteStore {
    /// The errors that say the database itself is failing, not the request: SQLite's result codes
    /// for a full disk, a damaged file, failing I/O, a file it cannot open or write, or a lock held
    /// past the busy timeout.
    public func unavailability(of error: any Error) -> StoreUnavailable? {
        if let unavailable = error as? StoreUnavailable { return unavailable }
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode.primaryResultCode {
        case .SQLITE_FULL: return StoreUnavailable("the disk is full")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: return StoreUnavailable("the database file is damaged")
        case .SQLITE_IOERR: return StoreUnavailable("reading or writing the database file failed")
        case .SQLITE_CANTOPEN: return StoreUnavailable("the database file cannot be opened")
        case .SQLITE_READONLY: return StoreUnavailable("the database file cannot be written")
        case .SQLITE_BUSY, .SQLITE_LOCKED: return StoreUnavailable("another process holds the database locked")
        case .SQLITE_NOMEM: return StoreUnavailable("out of memory")
        case .SQLITE_PROTOCOL: return StoreUnavailable("the database's locking failed")
        default: return nil
        }
    }
}
