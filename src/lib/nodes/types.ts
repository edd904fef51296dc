/**
 * How ebpfctl runs a command on a cluster node: over SSH, through the calico-node pod (kubectl-exec style), or on this
 * machine. Every transport implements NodeRunner; every per-node failure to reach the node is a NodeAccessError.
 */

import {outputLimitWording} from './bounds.js'

export interface RunResult {
  stdout: string
  stderr: string
  /** The remote exit status; 128+n when the command was killed by signal n (as a shell reports it), -1 if unknown. */
  exitCode: number
}

export interface RunOptions {
  /** Per-command timeout; on expiry the command is killed and the run rejects with NodeAccessError 'timeout'. */
  timeoutMs: number
  /**
   * Streaming: when set, stdout chunks are passed here and RunResult.stdout is ''. A returned promise is backpressure:
   * the runner stops reading until it settles, so a slow consumer (a pipe to `less`) does not queue output in memory.
   */
  onStdout?: (chunk: Buffer) => unknown
  /**
   * Most stdout bytes accepted (streamed or not); past it the command is stopped and the run rejects with
   * NodeAccessError 'output-limit'. Default OutputLimits.small. stderr is always cut at OutputLimits.stderr.
   */
  maxOutputBytes?: number
}

export interface NodeAddress {
  /** 'InternalIP' | 'ExternalIP' | 'Hostname' | … as in Node status.addresses. */
  type: string
  address: string
}

export interface NodeTarget {
  /** The Kubernetes Node name (metadata.name). */
  name: string
  /** From Node status.addresses. */
  addresses?: NodeAddress[]
}

/** debug: a short-lived privileged pod per node (exec into it), for when calico-node itself is broken. */
export type TransportKind = 'ssh' | 'exec' | 'local' | 'debug'

export interface NodeRunner {
  readonly via: TransportKind
  /** Runs argv (never a shell string) on the node. Rejects only with NodeAccessError. */
  run(node: NodeTarget, argv: string[], opts: RunOptions): Promise<RunResult>
  /** Releases every connection so the CLI can exit. Idempotent. */
  close(): Promise<void>
}

export type NodeAccessReason =
  'unreachable' | 'timeout' | 'output-limit' | 'host-key-unknown' | 'host-key-changed' | 'auth' | 'no-agent-pod' | 'other'

export interface NodeAccessErrorOptions {
  remedy?: string
  cause?: unknown
  /** The transport that failed. */
  via?: TransportKind
  /** The address that was dialled (ssh), or the pod that was used (exec). */
  target?: string
  /** SHA256:… fingerprint of the key the host presented (host-key-* reasons). */
  fingerprint?: string
}

/** A node could not be reached or the command on it did not finish. One per node: fan-out never throws it. */
export class NodeAccessError extends Error {
  readonly node: string
  readonly reason: NodeAccessReason
  readonly remedy?: string
  readonly via?: TransportKind
  readonly target?: string
  readonly fingerprint?: string

  constructor(node: string, reason: NodeAccessReason, message: string, options: NodeAccessErrorOptions = {}) {
    super(message, {cause: options.cause})
    this.name = 'NodeAccessError'
    this.node = node
    this.reason = reason
    this.remedy = options.remedy
    this.via = options.via
    this.target = options.target
    this.fingerprint = options.fingerprint
  }
}

export function isNodeAccessError(err: unknown): err is NodeAccessError {
  return err instanceof NodeAccessError
}

/** The run printed more than RunOptions.maxOutputBytes on stdout; the command was stopped. */
export function outputLimitError(node: string, where: string, limit: number, via: TransportKind, target?: string): NodeAccessError {
  return new NodeAccessError(node, 'output-limit', `${where}: ${outputLimitWording(limit)}; the command was stopped`, {
    via,
    target,
    remedy: 'A larger limit: --max-output-bytes (dumps); otherwise find out why the node prints so much.',
  })
}

/** Wraps anything thrown while working on a node into a NodeAccessError (reason 'other' unless it already is one). */
export function toNodeAccessError(node: string, err: unknown, via?: TransportKind): NodeAccessError {
  if (err instanceof NodeAccessError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new NodeAccessError(node, 'other', `${node}: ${message}`, {cause: err, via})
}
