import Foundation

extension CoordConfig {
    /// Where the journal lives: the config's `journal`, else
    /// $XDG_STATE_HOME/coord/coord.sqlite (when that is an absolute path, as
    /// the XDG spec requires), else ~/.local/state/coord/coord.sqlite.
    func journalPath(
        environment: [String: String] = ProcessInfo.processInfo.environment, home: String = NSHomeDirectory()
    ) -> String {
        if let journal { return journal }
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return (state as NSString).appendingPathComponent("coord/coord.sqlite")
        }
        return (home as NSString).appendingPathComponent(".local/state/coord/coord.sqlite")
    }

    func openJournal() throws -> SQLiteJournal {
        try SQLiteJournal(path: journalPath())
    }
}
