import CLibSSH
import Foundation

/// Public-key authentication with an identity file, or with ssh-agent when none
/// is configured. Runs on the session's loop thread, in blocking mode, bounded by
/// the session's libssh timeout.
struct Authenticator {
    let endpoint: SSHEndpoint
    let options: SSHOptions

    func authenticate(_ session: ssh_session) throws(SSHError) {
        let result: Int32
        let method: String
        if let identityFile = options.identityFile {
            var key: ssh_key?
            guard ssh_pki_import_privkey_file(identityFile, nil, nil, nil, &key) == SSH_OK, let key else {
                throw failure("cannot read private key \(identityFile) (missing, unreadable or passphrase-protected)")
            }
            defer { ssh_key_free(key) }
            method = "key \(identityFile)"
            result = ssh_userauth_publickey(session, nil, key)
        } else {
            guard options.agentSocket != nil || ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"] != nil else {
                throw failure("no identity file configured and no ssh-agent (SSH_AUTH_SOCK is not set)")
            }
            method = "the keys in ssh-agent"
            result = ssh_userauth_agent(session, nil)
        }

        switch result {
        case Int32(SSH_AUTH_SUCCESS.rawValue):
            return
        case Int32(SSH_AUTH_DENIED.rawValue):
            throw failure("the server refused \(method)")
        case Int32(SSH_AUTH_PARTIAL.rawValue):
            throw failure("the server accepted \(method) but wants a further method")
        case Int32(SSH_AUTH_AGAIN.rawValue):
            throw .timedOut(host: endpoint.name, stage: "authentication", seconds: options.connectTimeout)
        default:
            throw failure(LibSSH.lastError(session))
        }
    }

    private func failure(_ reason: String) -> SSHError {
        .authenticationFailed(host: endpoint.name, user: endpoint.user, reason: reason)
    }
}
