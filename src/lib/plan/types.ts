import type {KubeClient, PatchType} from '../kube/client.js'
import type {ClusterState, InstallInfo} from '../kube/cluster.js'
import type {ResourceRef} from '../kube/resources.js'
import type {Progress} from './progress.js'
import type {RecordStore} from './record.js'

/** A field's value before or after a change; `present: false` means the key is absent. */
export type FieldValue = {present: false} | {present: true; value: unknown}

export const ABSENT: FieldValue = {present: false}
export const value = (v: unknown): FieldValue => (v === undefined ? ABSENT : {present: true, value: v})

/**
 * One touched field. Path segments are object keys, except `key[name]`, which is the element of list `key` whose
 * `name` is `name` (containers and env, merged by name in a strategic patch).
 */
export interface FieldChange {
  path: string[]
  before: FieldValue
  after: FieldValue
}

/** The exact change a step makes to one object. */
export interface ObjectChange {
  resource: ResourceRef
  namespace?: string
  name: string
  /**
   * create: the object did not exist (undo deletes it); patch: `body` is sent with `patchType`; delete: revert removes
   * an object ebpfctl created.
   */
  action: 'create' | 'patch' | 'delete'
  /** Made by the operator in reaction to another change; recorded (so undo restores it) but never sent by ebpfctl. */
  by?: 'operator'
  patchType: PatchType
  /** The patch body, or the object for create. */
  body: unknown
  fields: FieldChange[]
}

export type KubeProxyMode = 'disable' | 'keep' | 'operator'

export interface EnableOptions {
  /** --api-server HOST:PORT */
  apiServer?: string
  bootstrap?: boolean
  kubeProxy: KubeProxyMode
  /** true: --dsr, false: --no-dsr, undefined: leave bpfExternalServiceMode alone. */
  dsr?: boolean
  /** The kubeconfig's server URL (a candidate API address). */
  kubeconfigServer: string
}

export interface Timing {
  /** Bound on each wait (--timeout). */
  timeoutMs: number
  /** Interval between polls of a wait. */
  pollMs: number
  /** Attempts for a write that hits a 409 conflict (apply) or a transient error (undo). */
  retries: number
  /** Delay between retries (grows linearly). */
  retryDelayMs: number
  /** Concurrent calico-node log reads. */
  logConcurrency: number
  /** How long enable/revert wait for another run's lock (--lock-timeout). */
  lockTimeoutMs: number
}

export const DEFAULT_TIMING: Timing = {
  timeoutMs: 5 * 60_000,
  pollMs: 2000,
  retries: 5,
  retryDelayMs: 500,
  logConcurrency: 16,
  lockTimeoutMs: 5000,
}

export interface StepContext {
  kube: KubeClient
  install: InstallInfo
  state: ClusterState
  record: RecordStore
  timing: Timing
  signal: AbortSignal
  progress: Progress
  /** Informational lines (warnings, what is happening). */
  info: (line: string) => void
}

export interface Step {
  id: string
  title: string
  describe(): string
  /** The object changes apply would make, computed from the cluster state the plan was built from. */
  changes(): ObjectChange[]
  /** True when the cluster already has what this step would do. */
  alreadyDone(state: ClusterState): boolean
  /** Makes the changes; returns them as applied (before values re-read on conflict). */
  apply(ctx: StepContext): Promise<ObjectChange[]>
  /** Waits (bounded by timing.timeoutMs) until the change has taken effect; throws PlanError when it does not. */
  verify(ctx: StepContext, progress: Progress): Promise<void>
  /** Restores what apply changed, from the record (ctx.record.changesFor(id)); idempotent and retried on transients. */
  undo(ctx: StepContext): Promise<void>
}

export interface Plan {
  kind: 'enable' | 'revert'
  install: InstallInfo
  /** 'operator' | 'operator-bootstrap' | 'manifest' | 'revert-from-record' | 'revert-best-effort' */
  variant: string
  steps: Step[]
  /** Printed before running (DSR network requirements, disruption). */
  warnings: string[]
}
