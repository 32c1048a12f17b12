import Foundation

/// Creates the journal's folder and file with owner-only permissions before
/// SQLite opens it: the journal names hosts, VMs and errors that other users
/// of the machine have no business reading. SQLite gives its -wal and -shm
/// files the database file's mode.
enum JournalFile {
    static func prepare(_ path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw JournalError.cannotOpen(path: path, reason: "cannot create its folder: \(error.localizedDescription)")
            }
        }
        // O_CREAT without O_EXCL: an existing journal keeps the mode its owner gave it.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw JournalError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        close(fd)
    }
}
