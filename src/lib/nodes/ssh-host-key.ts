/**
 * Checking an SSH server's host key against known_hosts, as OpenSSH does: the algorithms to offer (known key types
 * first) and the verifier ssh2 calls, whose refusal says why in one line with its remedy.
 */
import {type KnownHosts, fingerprint} from './known-hosts.js'
import type {SshDestination} from './ssh-destination.js'
import type {NodeAccessError} from './types.js'

/** Host key algorithms to offer for a key type already in known_hosts (OpenSSH's order: known types first). */
export const HOST_KEY_ALGOS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
}
export const DEFAULT_HOST_KEY_ALGOS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
]

/** Builds the error for this node's connection (ssh.ts fills in the node, the target and `via`). */
export type NodeErrorOf = (
  reason: NodeAccessError['reason'],
  message: string,
  remedy?: string,
  cause?: unknown,
  fingerprint?: string,
) => NodeAccessError

/** The host-key half of one connection: what ssh2 is given, and why it refused a key once it has. */
export interface HostKeyCheck {
  /** Algorithms to offer, those of the keys already on file first. */
  serverHostKey: string[]
  /** ssh2's hostVerifier: true only for a key recorded for this host (not revoked). */
  verify: (key: Buffer) => boolean
  /** The refusal of the last verify that said no (unknown host, changed or revoked key). */
  failure(): NodeAccessError | undefined
}

export function hostKeyCheck(kh: KnownHosts, dest: SshDestination, label: string, nodeErr: NodeErrorOf): HostKeyCheck {
  let failure: NodeAccessError | undefined
  // Offer the algorithms of the keys already known first, as OpenSSH does, so a host with several keys is
  // checked against the one that is on file.
  const known = kh.knownKeyTypes(dest.hostKeyTokens).flatMap((t) => HOST_KEY_ALGOS[t] ?? [])
  const serverHostKey = [...new Set([...known, ...DEFAULT_HOST_KEY_ALGOS])]
  const verify = (blob: Buffer) => {
    const verdict = kh.verify(dest.hostKeyTokens, blob)
    const fp = fingerprint(blob)
    const token = dest.hostKeyTokens[0]!
    const files = dest.knownHostsPaths.join(', ')
    const skip = 'or pass --ssh-insecure-skip-host-key-check to connect without checking'
    switch (verdict.status) {
      case 'ok':
        return true
      case 'revoked':
        failure = nodeErr(
          'host-key-changed',
          `${label}: the host key ${fp} presented by ${token} is marked @revoked in ` +
            `${verdict.entry.file}:${verdict.entry.line}; refusing to connect`,
          'Find out why the key was revoked before trusting this host again.',
          undefined,
          fp,
        )
        return false
      case 'changed': {
        const at = verdict.entries.map((e) => `${e.file}:${e.line}`).join(', ')
        failure = nodeErr(
          'host-key-changed',
          `${label}: HOST KEY CHANGED: ${token} presented ${fp}, which differs from the key recorded in ${at}; ` +
            'someone may be intercepting the connection, or the node was rebuilt. Refusing to connect',
          `If the node was really re-installed, verify ${fp} on its console ` +
            `(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then remove the old entry with ` +
            `\`ssh-keygen -R '${token}'\` and add the new one with ` +
            `\`ssh-keyscan -p ${dest.port} ${dest.host} >> ~/.ssh/known_hosts\`.`,
          undefined,
          fp,
        )
        return false
      }
      case 'unknown': {
        const note = verdict.certAuthority
          ? ' (only @cert-authority entries match it, and host certificates are not supported)'
          : verdict.otherTypes.length
            ? ` (only keys of type ${verdict.otherTypes.join(', ')} are recorded for it)`
            : ''
        failure = nodeErr(
          'host-key-unknown',
          `${label}: host ${token} is not in known_hosts (${files})${note}; ` +
            `its key fingerprint is ${fp}. Refusing to connect`,
          `Verify ${fp} on the node (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then run ` +
            `\`ssh-keyscan -p ${dest.port} ${dest.host} >> ~/.ssh/known_hosts\`, ${skip}.`,
          undefined,
          fp,
        )
        return false
      }
    }
  }
  return {serverHostKey, verify, failure: () => failure}
}
