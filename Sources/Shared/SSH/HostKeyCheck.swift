import CLibSSH

/// Checks the server's host key against known_hosts right after key exchange,
/// before anything about us (user name, keys) is sent. Runs on the session's loop thread.
struct HostKeyCheck {
    let endpoint: SSHEndpoint
    let options: SSHOptions

    /// Returns the server key's fingerprint ("SHA256:…", as OpenSSH prints it) once
    /// the key is trusted; throws when it is unknown (under `.strict`) or changed.
    func verify(_ session: ssh_session) throws(SSHError) -> String {
        var key: ssh_key?
        guard ssh_get_server_publickey(session, &key) == SSH_OK, let key else {
            throw failure("the server sent no host key")
        }
        defer { ssh_key_free(key) }
        guard let fingerprint = Self.fingerprint(of: key) else { throw failure("cannot hash the host key") }
        let keyType = ssh_key_type_to_char(ssh_key_type(key)).map { String(cString: $0) } ?? "unknown"

        switch ssh_session_is_known_server(session) {
        case SSH_KNOWN_HOSTS_OK:
            return fingerprint
        case SSH_KNOWN_HOSTS_CHANGED, SSH_KNOWN_HOSTS_OTHER:
            // OTHER: known_hosts lists a key of another type for this host. OpenSSH's
            // accept-new would not silently add a second key either; treat it as changed.
            throw .changedHostKey(host: endpoint.name, address: endpoint.address, port: endpoint.port,
                                  keyType: keyType, fingerprint: fingerprint, knownHosts: options.knownHostsPath)
        case SSH_KNOWN_HOSTS_UNKNOWN, SSH_KNOWN_HOSTS_NOT_FOUND:
            guard options.hostKeyPolicy == .acceptNew else {
                throw .unknownHostKey(host: endpoint.name, address: endpoint.address, port: endpoint.port,
                                      keyType: keyType, fingerprint: fingerprint, knownHosts: options.knownHostsPath)
            }
            guard ssh_session_update_known_hosts(session) == SSH_OK else {
                throw failure("cannot add the key to it: \(LibSSH.lastError(session))")
            }
            return fingerprint
        default:
            throw failure(LibSSH.lastError(session))
        }
    }

    /// "SHA256:" and the unpadded base64 of the key blob's SHA-256, like `ssh-keygen -l`.
    static func fingerprint(of key: ssh_key) -> String? {
        var hash: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) == SSH_OK, hash != nil else {
            return nil
        }
        defer { ssh_clean_pubkey_hash(&hash) }
        guard let text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length) else { return nil }
        defer { ssh_string_free_char(text) }
        return String(cString: text)
    }

    private func failure(_ reason: String) -> SSHError {
        .hostKeyCheckFailed(host: endpoint.name, knownHosts: options.knownHostsPath, reason: reason)
    }
}
