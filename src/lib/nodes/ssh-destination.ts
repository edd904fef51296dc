import {existsSync} from 'node:fs'
import {homedir, userInfo} from 'node:os'
import {resolve as resolvePath} from 'node:path'

import SSHConfig from 'ssh-config'

import {readBoundedText} from '../bounded-file.js'
import {parseHostPort} from '../host-port.js'
import {hostToken} from './known-hosts.js'
import type {SshRunnerOptions} from './ssh.js'
import type {NodeTarget} from './types.js'

/**
 * Where a node is reached over SSH: --ssh-host, ssh_config (Host entries; `Match exec` is never run), the node's
 * addresses, and which user, port, identity and known_hosts files go with it.
 */

/** ssh config, identity and known_hosts files are local files we do not control: regular files, at most 16 MiB. */
export const SSH_FILE_LIMIT = 16 * 1024 * 1024

export type AddressSource = 'override' | 'ssh-config' | 'InternalIP' | 'ExternalIP' | 'node-name'

/** Where and how a node is reached over SSH. */
export interface SshDestination {
  node: string
  host: string
  port: number
  user: string
  /** Which rule chose host: --ssh-host, a HostName in ssh_config, the node's InternalIP or ExternalIP, or its name. */
  source: AddressSource
  identityFiles: string[]
  knownHostsPaths: string[]
  /** Names looked up in known_hosts: `host` or `[host]:port`, plus a HostKeyAlias. */
  hostKeyTokens: string[]
}

/** Parses repeated `--ssh-host NODE=ADDR` values. */
export function parseHostOverrides(values: string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const v of values) {
    const i = v.indexOf('=')
    if (i <= 0 || i === v.length - 1) throw new Error(`--ssh-host expects NODE=ADDRESS, got ${JSON.stringify(v)}`)
    out.set(v.slice(0, i), v.slice(i + 1))
  }
  return out
}

function expandPath(p: string, home: string, host: string, user: string, port: number): string {
  let out = p.replace(/%([%hpruld])/g, (_m, c: string) => {
    switch (c) {
      case '%':
        return '%'
      case 'h':
        return host
      case 'p':
        return String(port)
      case 'r':
        return user
      case 'd':
        return home
      case 'u':
        return userInfo().username
      default:
        return `%${c}`
    }
  })
  if (out === '~') out = home
  else if (out.startsWith('~/')) out = home + out.slice(1)
  return resolvePath(out)
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return []
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(/\s+/)).filter(Boolean)
}

/** The destinations of one runner: its options and the ssh_config file, read once. */
export class SshDestinations {
  private readonly home: string
  private sshConfig?: SSHConfig | null

  constructor(
    private readonly opts: SshRunnerOptions,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.home = env.HOME ?? homedir()
  }

  /** Where node is reached, with the rule that chose the address (shown by `check` and in errors). */
  destination(node: NodeTarget): SshDestination {
    const cfg = this.configFor(node.name)
    const override = this.opts.hostOverrides?.get(node.name)
    let host: string
    let port: number | undefined
    let source: AddressSource
    const cfgHost = first(cfg.HostName)
    const internal = node.addresses?.find((a) => a.type === 'InternalIP')?.address
    const external = node.addresses?.find((a) => a.type === 'ExternalIP')?.address
    if (override) {
      ;({host, port} = parseHostPort(override))
      source = 'override'
    } else if (cfgHost) {
      host = cfgHost.replaceAll('%h', node.name).replaceAll('%%', '%')
      source = 'ssh-config'
    } else if (internal) {
      host = internal
      source = 'InternalIP'
    } else if (external) {
      host = external
      source = 'ExternalIP'
    } else {
      host = node.name
      source = 'node-name'
    }
    // Settings for the dialled address fill in what the node name's Host entries did not set.
    // A value the node name's own Host entries set wins over the address's; wildcard-only values (what an unrelated
    // host also gets) do not.
    let merged = cfg
    if (source !== 'ssh-config' && host !== node.name) {
      const baseline = this.configFor('ebpfctl-no-such-host.invalid')
      merged = {...this.configFor(host)}
      for (const [k, v] of Object.entries(cfg)) {
        if (k === 'Host') continue
        if (JSON.stringify(v) !== JSON.stringify(baseline[k]) || merged[k] === undefined) merged[k] = v
      }
    }
    const cfgPort = first(merged.Port)
    port = port ?? this.opts.port ?? (cfgPort && /^\d+$/.test(cfgPort) ? Number(cfgPort) : 22)
    const user = this.opts.user ?? first(merged.User) ?? this.env.USER ?? userInfo().username
    const identityFiles = [
      ...(this.opts.identityFiles ?? []).map((p) => expandPath(p, this.home, host, user, port)),
      ...list(merged.IdentityFile).map((p) => expandPath(p, this.home, host, user, port)),
    ]
    if (identityFiles.length === 0) {
      for (const f of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
        const p = resolvePath(this.home, '.ssh', f)
        if (existsSync(p)) identityFiles.push(p)
      }
    }
    let knownHostsPaths = this.opts.knownHostsPaths
    if (!knownHostsPaths) {
      const userFiles = list(merged.UserKnownHostsFile).map((p) => expandPath(p, this.home, host, user, port))
      knownHostsPaths = [
        ...(userFiles.length ? userFiles : [resolvePath(this.home, '.ssh', 'known_hosts')]),
        ...list(merged.GlobalKnownHostsFile).map((p) => expandPath(p, this.home, host, user, port)),
        '/etc/ssh/ssh_known_hosts',
      ]
    }
    const alias = first(merged.HostKeyAlias)
    const hostKeyTokens = [alias ? hostToken(alias, port) : hostToken(host, port)]
    return {node: node.name, host, port, user, source, identityFiles, knownHostsPaths, hostKeyTokens}
  }

  configFor(host: string): Record<string, string | string[]> {
    if (this.sshConfig === undefined) {
      const p =
        this.opts.sshConfigPath === undefined ? resolvePath(this.home, '.ssh', 'config') : this.opts.sshConfigPath
      this.sshConfig = p && existsSync(p) ? SSHConfig.parse(readBoundedText(p, SSH_FILE_LIMIT)) : null
    }
    if (!this.sshConfig) return {}
    // Never run `Match exec` commands: the config is data here, not a program.
    return this.sshConfig.compute(host, {matchExec: false})
  }
}
