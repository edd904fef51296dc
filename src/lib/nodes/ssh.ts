/**
 * The SSH transport (ssh2). One Client per node, cached and reused; at most 5 channels in flight per connection
 * (sshd's MaxSessions is 10; see maxChannelsPerConnection) and at most 8 handshakes in flight overall (sshd's
 * MaxStartups starts dropping at 10).
 * Host keys are always verified against known_hosts unless insecureSkipHostKeyCheck is set; ssh2's default would
 * accept anything (ssh-host-key.ts). Where a node is reached: ssh-destination.ts; the command sent: remote-command.ts.
 */
import {constants as osConstants} from 'node:os'

import pLimit, {type LimitFunction} from 'p-limit'
import ssh2 from 'ssh2'
import type {
  AgentAuthMethod,
  Client as ClientType,
  ClientChannel,
  ConnectConfig,
  ParsedKey,
  PublicKeyAuthMethod,
} from 'ssh2'

import {ByteBudget, OutputLimits, backpressure, timeoutWording} from './bounds.js'
import {KnownHosts, hostToken} from './known-hosts.js'
import {BoundedReadError, readBoundedFile} from '../bounded-file.js'
import {deadlineRejected, hasRemoteDeadline, remoteCommand} from './remote-command.js'
import {type SshDestination, SshDestinations, SSH_FILE_LIMIT} from './ssh-destination.js'
import {DEFAULT_HOST_KEY_ALGOS, hostKeyCheck} from './ssh-host-key.js'
import {
  type NodeRunner,
  type NodeTarget,
  type RunOptions,
  type RunResult,
  NodeAccessError,
  outputLimitError,
} from './types.js'

const {Client, utils} = ssh2

export interface SshRunnerOptions {
  /** Login user (like ssh -l). Default: the ssh_config User for the node, else the local user name. */
  user?: string
  /** Port (like ssh -p); a port in a host override wins for that node. Default: ssh_config Port, else 22. */
  port?: number
  /** Private keys to try, in order (like ssh -i). ssh_config IdentityFile entries are added after these. */
  identityFiles?: string[]
  /** Passphrase for encrypted identity files. */
  passphrase?: string
  /** ssh-agent socket. Default process.env.SSH_AUTH_SOCK; false: no agent. */
  agent?: string | false
  /** ~/.ssh/config style file for `Host` entries (Match exec is never run). Default ~/.ssh/config; false: none. */
  sshConfigPath?: string | false
  /** Default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts (ssh_config UserKnownHostsFile replaces the first). */
  knownHostsPaths?: string[]
  /** Accept any host key (--ssh-insecure-skip-host-key-check). */
  insecureSkipHostKeyCheck?: boolean
  /** Prefix commands with `sudo -n --` when the login user is not root. Default true. */
  sudo?: boolean
  /** Node name → address (`host`, `host:port` or `[v6addr]:port`), from `--ssh-host NODE=ADDR`. */
  hostOverrides?: Map<string, string>
  /** TCP connect + SSH handshake timeout. Default 10000. */
  connectTimeoutMs?: number
  /** Default 15000; 0 disables. */
  keepaliveIntervalMs?: number
  /**
   * Default 5: sshd's MaxSessions is 10, and sessions that just finished can still count there while their
   * replacements open (see the retry in exec), so 2 × 5 always fits.
   */
  maxChannelsPerConnection?: number
  /** Default 8 (sshd MaxStartups is 10:30:100). */
  maxConcurrentHandshakes?: number
  /** Environment for HOME, USER and SSH_AUTH_SOCK lookups. Default process.env. */
  env?: NodeJS.ProcessEnv
}

/** Channel-open retries (10, 20, … 640 ms: about 1.3 s in all) before a refused session is reported. */
const CHANNEL_OPEN_RETRIES = 7

interface Connection {
  client: ClientType
  channels: LimitFunction
  /** Sessions the server has accepted and not yet closed: what a refusal tells us its real limit is. */
  openChannels: number
  closed: boolean
  /**
   * Whether the node's `timeout` takes the remote deadline (remoteCommand): unknown until a wrapped command returns;
   * 'rejected' (busybox before 1.30) sends later commands plainly.
   */
  remoteDeadline: 'unknown' | 'works' | 'rejected'
}

/** A command's result, with how many stdout bytes came (RunResult.stdout is '' when they were streamed). */
interface ExecResult {
  result: RunResult
  stdoutBytes: number
}

/** A private key to offer, or why that file cannot be used. */
interface Identity {
  key?: ParsedKey
  problem?: string
}

function readIdentity(file: string, passphrase: string | undefined): Identity {
  let text: Buffer
  try {
    text = readBoundedFile(file, SSH_FILE_LIMIT)
  } catch (err) {
    return {problem: err instanceof BoundedReadError ? err.message : `${file}: ${(err as Error).message}`}
  }
  const parsed = utils.parseKey(text, passphrase)
  if (parsed instanceof Error) return {problem: `${file}: ${parsed.message}`}
  return {key: Array.isArray(parsed) ? parsed[0] : parsed}
}

export class SshRunner implements NodeRunner {
  readonly via = 'ssh' as const
  private readonly opts: SshRunnerOptions
  private readonly env: NodeJS.ProcessEnv
  private readonly handshakes: LimitFunction
  private readonly connections = new Map<string, Promise<Connection>>()
  private readonly clients = new Set<ClientType>()
  private readonly destinations: SshDestinations
  private knownHosts = new Map<string, KnownHosts>()
  private readonly identities = new Map<string, Identity>()
  private closing = false

  constructor(opts: SshRunnerOptions = {}) {
    this.opts = opts
    this.env = opts.env ?? process.env
    this.handshakes = pLimit(opts.maxConcurrentHandshakes ?? 8)
    this.destinations = new SshDestinations(opts, this.env)
  }

  /** Where node is reached, with the rule that chose the address (shown by `check` and in errors). */
  destination(node: NodeTarget): SshDestination {
    return this.destinations.destination(node)
  }

  async run(node: NodeTarget, argv: string[], opts: RunOptions): Promise<RunResult> {
    if (this.closing)
      throw new NodeAccessError(node.name, 'other', `${node.name}: the SSH runner is closed`, {via: 'ssh'})
    let dest: SshDestination
    let plain: string
    let wrapped: string
    try {
      dest = this.destination(node)
      plain = remoteCommand(argv, dest.user, this.opts.sudo ?? true)
      wrapped = remoteCommand(argv, dest.user, this.opts.sudo ?? true, opts.timeoutMs)
    } catch (err) {
      throw new NodeAccessError(node.name, 'other', `${node.name}: ${(err as Error).message}`, {via: 'ssh', cause: err})
    }
    const start = Date.now()
    const conn = await this.connection(dest)
    const deadline = hasRemoteDeadline(opts.timeoutMs) && conn.remoteDeadline !== 'rejected'
    const first = await conn.channels(() => this.exec(conn, dest, deadline ? wrapped : plain, opts))
    // Decided once per connection; a command sent wrapped while another learnt 'rejected' is still checked.
    if (!deadline || conn.remoteDeadline === 'works') return first.result
    if (!deadlineRejected(first.result, first.stdoutBytes)) {
      conn.remoteDeadline = 'works'
      return first.result
    }
    // The node's `timeout` refused `-k` before running anything: run the command itself, in the time that is left.
    conn.remoteDeadline = 'rejected'
    const left = Math.max(1, opts.timeoutMs - (Date.now() - start))
    return (await conn.channels(() => this.exec(conn, dest, plain, opts, left))).result
  }

  async close(): Promise<void> {
    this.closing = true
    const ends = [...this.clients].map(
      (c) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            c.destroy()
            resolve()
          }, 1000)
          t.unref()
          c.once('close', () => {
            clearTimeout(t)
            resolve()
          })
          c.end()
        }),
    )
    await Promise.all(ends)
    this.clients.clear()
    this.connections.clear()
  }

  /** An identity file, read and parsed once per runner: a fleet's connections mostly share the same keys. */
  private identity(file: string): Identity {
    let identity = this.identities.get(file)
    if (!identity) {
      identity = readIdentity(file, this.opts.passphrase)
      this.identities.set(file, identity)
    }
    return identity
  }

  private loadKnownHosts(paths: string[]): KnownHosts {
    const key = paths.join('\0')
    let kh = this.knownHosts.get(key)
    if (!kh) {
      kh = KnownHosts.load(paths)
      this.knownHosts.set(key, kh)
    }
    return kh
  }

  private connection(dest: SshDestination): Promise<Connection> {
    const key = `${dest.user}@${dest.host}:${dest.port}`
    let p = this.connections.get(key)
    if (!p) {
      p = this.handshakes(() => this.connect(dest))
      this.connections.set(key, p)
      // A connection that failed stays failed (fast answers for a dead node); one that closes later is reopened.
      p.then(
        (c) => c.client.once('close', () => this.connections.get(key) === p && this.connections.delete(key)),
        () => {},
      )
    }
    return p
  }

  private connect(dest: SshDestination): Promise<Connection> {
    const where = `${dest.user}@${hostToken(dest.host, dest.port)}`
    const label = `${dest.node} (${where}, address from ${dest.source})`
    const nodeErr = (
      reason: NodeAccessError['reason'],
      message: string,
      remedy?: string,
      cause?: unknown,
      fp?: string,
    ) => new NodeAccessError(dest.node, reason, message, {remedy, cause, via: 'ssh', target: where, fingerprint: fp})

    if (this.closing) return Promise.reject(nodeErr('other', `${label}: the SSH runner is closed`))

    // Keys.
    const authHandler: (AgentAuthMethod | PublicKeyAuthMethod)[] = []
    const keyProblems: string[] = []
    const agent = this.opts.agent === undefined ? this.env.SSH_AUTH_SOCK : this.opts.agent || undefined
    if (agent) authHandler.push({type: 'agent' as const, username: dest.user, agent})
    for (const file of dest.identityFiles) {
      const identity = this.identity(file)
      if (identity.problem) keyProblems.push(identity.problem)
      else if (identity.key) authHandler.push({type: 'publickey' as const, username: dest.user, key: identity.key})
    }
    if (authHandler.length === 0) {
      return Promise.reject(
        nodeErr(
          'auth',
          `${label}: no SSH credentials to offer${keyProblems.length ? ` (${keyProblems.join('; ')})` : ''}`,
          'Pass --ssh-identity, or start ssh-agent and set SSH_AUTH_SOCK.',
        ),
      )
    }

    // Host key.
    const hostKey = this.opts.insecureSkipHostKeyCheck
      ? undefined
      : hostKeyCheck(this.loadKnownHosts(dest.knownHostsPaths), dest, label, nodeErr)

    const timeoutMs = this.opts.connectTimeoutMs ?? 10_000
    return new Promise<Connection>((resolve, reject) => {
      const client = new Client()
      this.clients.add(client)
      let ready = false
      const conn: Connection = {
        client,
        channels: pLimit(this.opts.maxChannelsPerConnection ?? 5),
        openChannels: 0,
        closed: false,
        remoteDeadline: 'unknown',
      }
      // A hard deadline on top of readyTimeout, which does not cover the TCP connect to a black-holed address.
      const deadline = setTimeout(() => {
        if (ready) return
        fail(
          nodeErr(
            'unreachable',
            `${label}: no SSH connection within ${timeoutMs} ms`,
            'Check that the address is right (--ssh-host NODE=ADDR) and that sshd is reachable from here.',
          ),
        )
      }, timeoutMs + 500)
      const fail = (err: NodeAccessError) => {
        clearTimeout(deadline)
        if (!ready) {
          ready = true
          client.destroy()
          this.clients.delete(client)
          reject(err)
        }
      }
      client.on('ready', () => {
        clearTimeout(deadline)
        ready = true
        resolve(conn)
      })
      client.on('error', (err: Error & {level?: string; code?: string}) => {
        if (ready) return // surfaces on the channel in use
        const refused = hostKey?.failure()
        if (refused) return fail(refused)
        const level = err.level
        if (level === 'client-authentication') {
          return fail(
            nodeErr(
              'auth',
              `${label}: authentication failed (${err.message})` +
                (keyProblems.length ? `; unusable keys: ${keyProblems.join('; ')}` : ''),
              `Check that the key is authorised for ${dest.user} on the node, or pass --ssh-user / --ssh-identity.`,
              err,
            ),
          )
        }
        if (level === 'client-timeout') {
          return fail(
            nodeErr(
              'unreachable',
              `${label}: SSH handshake timed out after ${timeoutMs} ms`,
              'Check that sshd is listening on that address and port.',
              err,
            ),
          )
        }
        if (level === 'client-socket' || level === 'client-dns' || err.code) {
          return fail(
            nodeErr(
              'unreachable',
              `${label}: cannot connect: ${err.code ?? err.message}`,
              'Check the address (--ssh-host NODE=ADDR, --ssh-port) and that sshd runs on the node.',
              err,
            ),
          )
        }
        fail(nodeErr('other', `${label}: SSH error: ${err.message}`, undefined, err))
      })
      client.on('close', () => {
        conn.closed = true
        this.clients.delete(client)
        if (!ready)
          fail(hostKey?.failure() ?? nodeErr('unreachable', `${label}: connection closed during the SSH handshake`))
      })
      const config: ConnectConfig = {
        host: dest.host,
        port: dest.port,
        username: dest.user,
        readyTimeout: timeoutMs,
        keepaliveInterval: this.opts.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: 3,
        authHandler,
        algorithms: {
          serverHostKey: (hostKey?.serverHostKey ?? DEFAULT_HOST_KEY_ALGOS) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'],
        },
        hostVerifier: hostKey?.verify ?? (() => true),
      }
      try {
        client.connect(config)
      } catch (err) {
        fail(nodeErr('other', `${label}: ${(err as Error).message}`, undefined, err))
      }
    })
  }

  /** Runs command on one channel; gives up after timerMs (default opts.timeoutMs, which the error names). */
  private exec(
    conn: Connection,
    dest: SshDestination,
    command: string,
    opts: RunOptions,
    timerMs = opts.timeoutMs,
  ): Promise<ExecResult> {
    const where = `${dest.user}@${hostToken(dest.host, dest.port)}`
    const nodeErr = (reason: NodeAccessError['reason'], message: string, cause?: unknown) =>
      new NodeAccessError(dest.node, reason, message, {cause, via: 'ssh', target: where})
    return new Promise<ExecResult>((resolve, reject) => {
      if (conn.closed) {
        reject(nodeErr('unreachable', `${dest.node} (${where}): the SSH connection was closed`))
        return
      }
      let settled = false
      let channel: ClientChannel | undefined
      /** Gives up on the command: stops it on the node as far as SSH allows, and rejects with err. */
      const abandon = (err: NodeAccessError) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        conn.client.removeListener('close', onConnClose)
        if (channel) {
          // Ask sshd to SIGKILL the command, then drop the channel. sshd honours signal requests only in
          // privilege-separated (non-root) sessions; otherwise the command dies at its next write (SIGPIPE), or at
          // the latest when the node's `timeout` fires (remoteCommand).
          try {
            channel.signal('KILL')
          } catch {
            // channel already gone
          }
          channel.close()
        }
        reject(err)
      }
      const timer = setTimeout(
        () => abandon(nodeErr('timeout', `${dest.node} (${where}): the command ${timeoutWording(opts.timeoutMs)}`)),
        timerMs,
      )
      const onConnClose = () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        reject(nodeErr('unreachable', `${dest.node} (${where}): the SSH connection closed while the command ran`))
      }
      conn.client.once('close', onConnClose)
      const done = (fn: () => void) => {
        conn.client.removeListener('close', onConnClose)
        if (settled) return
        settled = true
        clearTimeout(timer)
        fn()
      }
      const open = (attempt: number) =>
        conn.client.exec(command, (err, ch) => {
          if (err) {
            // sshd frees a finished session only after it has handled the whole batch of packets that carried our
            // CLOSE, so an open in the same batch can still be refused ("open failed") although we are below
            // MaxSessions; servers configured with a lower MaxSessions refuse the same way. Retry with backoff.
            // While other sessions are open the refusal is the server's limit: learn it (queue, do not open more
            // than it takes) and retry until one of them closes; the command's own timer bounds the wait.
            if (!settled && !conn.closed && conn.openChannels > 0) {
              conn.channels.concurrency = Math.max(1, Math.min(conn.channels.concurrency, conn.openChannels))
              setTimeout(() => open(attempt + 1), Math.min(200, 10 * 2 ** attempt))
              return
            }
            if (!settled && !conn.closed && attempt < CHANNEL_OPEN_RETRIES) {
              setTimeout(() => open(attempt + 1), 10 * 2 ** attempt)
              return
            }
            done(() =>
              reject(nodeErr('other', `${dest.node} (${where}): cannot open an SSH session: ${err.message}`, err)),
            )
            return
          }
          onChannel(ch)
        })
      const onChannel = (ch: ClientChannel) => {
        channel = ch
        conn.openChannels++
        ch.once('close', () => conn.openChannels--)
        if (settled) {
          ch.close()
          return
        }
        const limit = opts.maxOutputBytes ?? OutputLimits.small
        const out = new ByteBudget(limit)
        const errs = new ByteBudget(OutputLimits.stderr)
        ch.on('data', (d: Buffer) => {
          if (settled) return
          if (!out.take(d, !opts.onStdout)) {
            abandon(outputLimitError(dest.node, `${dest.node} (${where})`, limit, 'ssh', where))
            return
          }
          const wait = backpressure(opts.onStdout?.(d))
          if (wait) {
            ch.pause()
            wait.then(
              () => ch.resume(),
              () => ch.resume(),
            )
          }
        })
        ch.stderr.on('data', (d: Buffer) => errs.take(d))
        ch.on('close', (code: number | null | undefined, signal?: string) => {
          let exitCode = -1
          if (typeof code === 'number') exitCode = code
          else if (signal) {
            const n = (osConstants.signals as Record<string, number>)[
              signal.startsWith('SIG') ? signal : `SIG${signal}`
            ]
            exitCode = n ? 128 + n : -1
          }
          done(() =>
            resolve({
              result: {stdout: opts.onStdout ? '' : out.text(), stderr: errs.text(), exitCode},
              stdoutBytes: out.used,
            }),
          )
        })
      }
      open(0)
    })
  }
}

export {parseHostPort} from '../host-port.js'
export {remoteCommand} from './remote-command.js'
export {type AddressSource, type SshDestination, SSH_FILE_LIMIT, parseHostOverrides} from './ssh-destination.js'
