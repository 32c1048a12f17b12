import Foundation

/// A Unix-socket server that echoes every byte back, one thread per connection
/// (a few lines of python3; socat is not installed). Stands in for the agent's socket.
final class UnixEchoServer: Sendable {
    let path: String
    private let daemon: Daemon

    private static let script = """
        import socket, sys, threading
        server = socket.socket(socket.AF_UNIX)
        server.bind(sys.argv[1])
        server.listen(16)
        def echo(connection):
            while True:
                data = connection.recv(65536)
                if not data:
                    break
                connection.sendall(data)
            connection.close()
        while True:
            connection, _ = server.accept()
            threading.Thread(target=echo, args=(connection,), daemon=True).start()
        """

    init(path: String) throws {
        self.path = path
        daemon = try Daemon("/usr/bin/python3", ["-c", Self.script, path])
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: path) {
            usleep(50_000)
        }
    }

    func stop() {
        daemon.stop()
        try? FileManager.default.removeItem(atPath: path)
    }
}
