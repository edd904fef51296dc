import type {KubeClient} from '../kube/client.js'
import type {ClusterState, InstallInfo} from '../kube/cluster.js'
import {KubeApiError} from '../kube/errors.js'
import {Resources} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import {withRetry} from './retry.js'
import type {ObjectChange, Timing} from './types.js'

export const RECORD_CONFIGMAP = 'ebpfctl-state'
export const RECORD_KEY = 'record.json'

export interface RecordEntry {
  stepId: string
  /** Which enable run made it (ISO time the run started). */
  run: string
  /** applying: written before apply (the change may be partly made); applied: apply returned. */
  state: 'applying' | 'applied'
  changes: ObjectChange[]
  at: string
}

/** What enable changed, with every field's prior value; lives in the cluster so revert works from any machine. */
export interface EnableRecord {
  version: 1
  install: {type: string; variant: string; calicoNamespace?: string; calicoVersion?: string}
  options: Record<string, unknown>
  createdAt: string
  updatedAt: string
  status: 'in-progress' | 'complete'
  entries: RecordEntry[]
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>
}

/**
 * The record in the cluster, checked (record-check.ts: shape, size, and only objects and fields enable writes).
 * Throws RecordError (exit 2) for a record ebpfctl did not write; undefined when there is none.
 */
export async function readRecord(
  kube: KubeClient,
  ctx: {install: InstallInfo; state: ClusterState; namespace: string},
): Promise<{record?: EnableRecord; exists: boolean}> {
  const cm = await kube.get<ConfigMap>(Resources.configMaps, RECORD_CONFIGMAP, ctx.namespace)
  const {checkRecord} = await import('./record-check.js')
  return {record: await checkRecord(cm, ctx), exists: !!cm}
}

/**
 * The record as one run sees it: entries of earlier runs are kept (revert undoes them all), this run's entries are
 * added before each step's apply and updated after. Writes are merge patches of one ConfigMap key.
 */
export class RecordStore {
  readonly run: string
  private exists: boolean
  private readonly existedBefore: boolean

  constructor(
    private readonly kube: KubeClient | undefined,
    readonly namespace: string,
    public record: EnableRecord,
    opts: {exists: boolean; run?: string},
    private readonly timing: Pick<Timing, 'retries' | 'retryDelayMs'> = {retries: 5, retryDelayMs: 500},
  ) {
    this.exists = opts.exists
    this.existedBefore = opts.exists
    this.run = opts.run ?? new Date().toISOString()
  }

  static fresh(
    namespace: string,
    install: InstallInfo,
    variant: string,
    options: Record<string, unknown>,
  ): EnableRecord {
    const now = new Date().toISOString()
    return {
      version: 1,
      install: {
        type: install.type,
        variant,
        calicoNamespace: install.calicoNamespace,
        calicoVersion: install.calicoVersion,
      },
      options,
      createdAt: now,
      updatedAt: now,
      status: 'in-progress',
      entries: [],
    }
  }

  /** Every entry's changes for a step, newest first (the order undo applies them). */
  changesFor(stepId: string, scope: 'run' | 'all' = 'run'): ObjectChange[] {
    return this.record.entries
      .filter((e) => e.stepId === stepId && (scope === 'all' || e.run === this.run))
      .reverse()
      .flatMap((e) => [...e.changes].reverse())
  }

  /** In memory only: the changes of a failed apply that did land (a refused write did not). */
  narrow(stepId: string, landed: ObjectChange[]): void {
    const entry = this.record.entries.findLast((e) => e.stepId === stepId && e.run === this.run)
    if (entry) entry.changes = landed
  }

  runEntries(): RecordEntry[] {
    return this.record.entries.filter((e) => e.run === this.run)
  }

  async markApplying(stepId: string, changes: ObjectChange[]): Promise<void> {
    this.record.entries.push({stepId, run: this.run, state: 'applying', changes, at: new Date().toISOString()})
    this.record.status = 'in-progress'
    await this.persist(false)
  }

  async markApplied(stepId: string, changes: ObjectChange[], final: boolean): Promise<void> {
    const entry = this.record.entries.findLast((e) => e.stepId === stepId && e.run === this.run)
    if (entry) {
      entry.state = 'applied'
      entry.changes = changes
      entry.at = new Date().toISOString()
    }
    if (final) this.record.status = 'complete'
    await this.persist(false)
  }

  async markComplete(): Promise<void> {
    if (this.record.status === 'complete' || !this.exists) return
    this.record.status = 'complete'
    await this.persist(true)
  }

  /** After a rollback: forget this run's entries; delete the record when nothing else is in it. */
  async dropRun(): Promise<void> {
    this.record.entries = this.record.entries.filter((e) => e.run !== this.run)
    if (!this.exists) {
      // The first write may have landed although it failed (a timeout): make sure no empty record is left behind.
      if (!this.existedBefore && this.kube) await this.remove()
      return
    }
    if (this.record.entries.length === 0 && !this.existedBefore) await this.remove()
    else {
      this.record.status = 'complete'
      await this.persist(true)
    }
  }

  /** Deletes the record (after revert). */
  async remove(): Promise<void> {
    if (!this.kube) return
    await withRetry(() => this.kube!.delete(Resources.configMaps, RECORD_CONFIGMAP, this.namespace), {
      ...this.retry(),
      transient: true,
    })
    this.exists = false
  }

  /** Drops entries (revert, as it undoes them) and writes what is left. */
  async forget(stepId: string): Promise<void> {
    this.record.entries = this.record.entries.filter((e) => e.stepId !== stepId)
    if (this.exists) await this.persist(true)
  }

  private retry() {
    return {retries: this.timing.retries, delayMs: this.timing.retryDelayMs}
  }

  private async persist(transient: boolean): Promise<void> {
    if (!this.kube) return
    const kube = this.kube
    this.record.updatedAt = new Date().toISOString()
    const data = {[RECORD_KEY]: JSON.stringify(this.record)}
    await withRetry(
      async () => {
        if (this.exists) {
          await kube.patch(Resources.configMaps, RECORD_CONFIGMAP, this.namespace, {data}, 'merge')
          return
        }
        try {
          await kube.create<ConfigMap>(Resources.configMaps, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: RECORD_CONFIGMAP,
              namespace: this.namespace,
              labels: {'app.kubernetes.io/managed-by': 'ebpfctl'},
            },
            data,
          })
        } catch (err) {
          // A retried create whose first attempt did land.
          if (!(err instanceof KubeApiError && err.code === 409)) throw err
          await kube.patch(Resources.configMaps, RECORD_CONFIGMAP, this.namespace, {data}, 'merge')
        }
        this.exists = true
      },
      // A create whose answer was lost is always tried again (a 409 then finds it and patches): a create cannot be
      // fenced, so taking the name now is what keeps the lost request from landing after a rollback removed it.
      {...this.retry(), transient: transient || !this.exists},
    )
  }
}
