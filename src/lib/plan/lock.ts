import {randomBytes} from 'node:crypto'
import {hostname, userInfo} from 'node:os'

import type {KubeClient} from '../kube/client.js'
import {KubeApiError} from '../kube/errors.js'
import {Resources} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import {ExitCode, UserError} from '../errors.js'
import {errorMessage} from './errors.js'
import {sleep} from './retry.js'
import {waitClock} from '../duration.js'

/** The Lease enable and revert hold while they write: one run at a time per cluster. */
export const LOCK_LEASE = {namespace: 'kube-system', name: 'ebpfctl-lock'} as const

export interface LeaseObject extends KubeObject {
  spec?: {holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string}
}

export interface LockOptions {
  /** How long to wait for another run's lock (--lock-timeout). */
  timeoutMs: number
  /** Default 30 s: a holder that stops renewing for this long is stale. */
  leaseDurationSeconds?: number
  /** Default 10 s. */
  renewMs?: number
  /** Default 500 ms: how often a waiting run looks at the Lease. */
  pollMs?: number
  identity?: string
  info: (line: string) => void
  now?: () => Date
}

export interface HeldLock {
  identity: string
  release(): Promise<void>
}

/** user@host pid N, plus a nonce: two runs in one process (tests) are two holders. */
export function lockIdentity(): string {
  let user = 'unknown'
  try {
    user = userInfo().username
  } catch {
    // no passwd entry (containers)
  }
  return `${user}@${hostname()} pid ${process.pid} run ${randomBytes(3).toString('hex')}`
}

/** MicroTime as the API serves it. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')

function expiresAt(lease: LeaseObject): number {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '')
  if (Number.isNaN(renewed)) return 0
  return renewed + (lease.spec?.leaseDurationSeconds ?? 30) * 1000
}

/** Transient errors on the Lease itself are retried this long past --lock-timeout (a free lock is still taken). */
const LOCK_WRITE_GRACE_MS = 5000

const isConflict = (err: unknown) => err instanceof KubeApiError && err.code === 409

/**
 * Takes the coordination.k8s.io/v1 Lease LOCK_LEASE: creates it, or takes it over when it is free or its holder
 * stopped renewing it for leaseDurationSeconds (said so); otherwise waits up to timeoutMs and refuses (exit 2) naming
 * the holder. Writes are conditional on the Lease's resourceVersion, so two runs cannot both win. While held, the
 * Lease is renewed every renewMs.
 */
export async function acquireLock(kube: KubeClient, opts: LockOptions): Promise<HeldLock> {
  const identity = opts.identity ?? lockIdentity()
  const duration = opts.leaseDurationSeconds ?? 30
  const now = opts.now ?? (() => new Date())
  const {namespace, name} = LOCK_LEASE
  const started = Date.now()
  const deadline = started + opts.timeoutMs
  let saidAt = started
  const spec = () => ({
    holderIdentity: identity,
    leaseDurationSeconds: duration,
    acquireTime: microTime(now()),
    renewTime: microTime(now()),
  })
  let waitingOn: string | undefined
  for (;;) {
    try {
      const lease = await kube.get<LeaseObject>(Resources.leases, name, namespace)
      if (!lease) {
        await kube.create<LeaseObject>(Resources.leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {name, namespace},
          spec: spec(),
        })
        break
      }
      const holder = lease.spec?.holderIdentity
      if (holder === identity) break // our own create or takeover landed although its answer was lost
      const expired = expiresAt(lease) <= now().getTime()
      if (!holder || expired) {
        await kube.replace<LeaseObject>(Resources.leases, {...lease, spec: spec()})
        if (holder)
          opts.info(
            `took over the stale lock Lease ${namespace}/${name} of "${holder}" (not renewed since ` +
              `${lease.spec?.renewTime ?? 'ever'}, expired after ${lease.spec?.leaseDurationSeconds ?? 30}s)`,
          )
        break
      }
      // The clock as every wait shows it: when the holder changes, and every 10 s while it does not (also when the
      // bound has passed by the first look: the run was willing to wait).
      if (opts.timeoutMs > 0 && (waitingOn !== holder || Date.now() - saidAt >= 10_000)) {
        opts.info(`waiting for the lock held by "${holder}" (Lease ${namespace}/${name}) … (${waitClock(Date.now() - started, opts.timeoutMs)})`)
        saidAt = Date.now()
      }
      if (Date.now() >= deadline) {
        throw new UserError(
          `another ebpfctl run holds the lock: "${holder}" (Lease ${namespace}/${name}, renewed ` +
            `${lease.spec?.renewTime}); nothing was changed`,
          {
            exitCode: ExitCode.Usage,
            remedy:
              'Wait for that run to finish (or raise --lock-timeout). A lock whose holder died is taken over once it ' +
              `has not been renewed for ${lease.spec?.leaseDurationSeconds ?? 30}s.`,
          },
        )
      }
      waitingOn = holder
      await sleep(Math.min(opts.pollMs ?? 500, Math.max(0, deadline - Date.now())))
    } catch (err) {
      // A conflict: another run won a race for the Lease. A transient error: the outcome is read back. Look again.
      const transient = err instanceof KubeApiError && err.isTransient
      if (!isConflict(err) && !(transient && Date.now() < deadline + LOCK_WRITE_GRACE_MS)) throw err
      if (transient) await sleep(opts.pollMs ?? 500)
    }
  }
  let stopped = false
  const renew = async () => {
    try {
      const lease = await kube.get<LeaseObject>(Resources.leases, name, namespace)
      if (lease?.spec?.holderIdentity !== identity) {
        opts.info(`warning: the lock Lease ${namespace}/${name} is no longer held by this run`)
        return
      }
      await kube.replace<LeaseObject>(Resources.leases, {...lease, spec: {...lease.spec, renewTime: microTime(now())}})
    } catch (err) {
      if (!stopped) opts.info(`warning: could not renew the lock Lease ${namespace}/${name}: ${errorMessage(err)}`)
    }
  }
  const timer = setInterval(() => void renew(), opts.renewMs ?? 10_000)
  timer.unref()
  return {
    identity,
    async release() {
      stopped = true
      clearInterval(timer)
      try {
        const lease = await kube.get<LeaseObject>(Resources.leases, name, namespace)
        if (lease?.spec?.holderIdentity === identity) await kube.delete(Resources.leases, name, namespace)
      } catch (err) {
        opts.info(
          `warning: could not release the lock Lease ${namespace}/${name} (it expires by itself): ${errorMessage(err)}`,
        )
      }
    },
  }
}

/** Runs fn holding the lock; the lock is released however fn ends. */
export async function withLock<T>(kube: KubeClient, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(kube, opts)
  try {
    return await fn()
  } finally {
    await lock.release()
  }
}
