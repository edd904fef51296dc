/**
 * `--via debug`: a way in when calico-node itself is broken. Per node, a short-lived privileged pod (as
 * `kubectl debug node/X --profile=sysadmin` makes: hostPID, hostNetwork, privileged) with the host's /sys/fs/bpf
 * mounted, running the calico-node image that is already on the node (it ships /bin/bpftool); commands run in it
 * through pod exec (ExecRunner, with its bounds), and every pod is deleted on close, on Ctrl-C, and by the kubelet
 * after activeDeadlineSeconds if ebpfctl dies first.
 */
import {randomBytes} from 'node:crypto'

import type {KubeClient} from '../kube/client.js'
import {Resources} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import {type CalicoPod, ExecRunner} from './exec.js'
import {type NodeRunner, type NodeTarget, type RunOptions, type RunResult, NodeAccessError} from './types.js'

export const DEBUG_CONTAINER = 'debug'
const RUN_LABEL = 'ebpfctl.io/debug-run'

export interface DebugPodRunnerOptions {
  kube: Pick<KubeClient, 'create' | 'get' | 'delete' | 'list' | 'exec'>
  namespace: string
  /** The calico-node image (already pulled on every node). */
  image: string
  /** How long a pod may live (activeDeadlineSeconds), if ebpfctl cannot delete it. Default 600. */
  lifetimeSeconds?: number
  /** How long to wait for a pod to run. Default 60 s. */
  startTimeoutMs?: number
  pollMs?: number
}

export function debugPodManifest(opts: {name: string; namespace: string; node: string; image: string; run: string; lifetimeSeconds: number}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: opts.name,
      namespace: opts.namespace,
      labels: {'app.kubernetes.io/managed-by': 'ebpfctl', [RUN_LABEL]: opts.run, 'ebpfctl.io/debug-pod': opts.name},
    },
    spec: {
      nodeName: opts.node,
      hostPID: true,
      hostNetwork: true,
      restartPolicy: 'Never',
      activeDeadlineSeconds: opts.lifetimeSeconds,
      terminationGracePeriodSeconds: 0,
      // bpftool needs no API access: a privileged host pod should not also carry the namespace's token.
      automountServiceAccountToken: false,
      tolerations: [{operator: 'Exists'}],
      containers: [
        {
          name: DEBUG_CONTAINER,
          image: opts.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', String(opts.lifetimeSeconds)],
          securityContext: {privileged: true},
          volumeMounts: [{name: 'bpffs', mountPath: '/sys/fs/bpf'}],
        },
      ],
      volumes: [{name: 'bpffs', hostPath: {path: '/sys/fs/bpf', type: 'Directory'}}],
    },
  } as KubeObject
}

export class DebugPodRunner implements NodeRunner {
  readonly via = 'debug' as const
  private readonly run_ = randomBytes(4).toString('hex')
  private readonly pods = new Map<string, Promise<ExecRunner>>()
  private readonly created = new Set<string>()
  private closing?: Promise<void>
  private readonly onSigint = () => {
    process.stderr.write('\ninterrupted: deleting the debug pods …\n')
    void this.close().finally(() => process.exit(130))
  }

  constructor(private readonly opts: DebugPodRunnerOptions) {
    process.once('SIGINT', this.onSigint)
  }

  /** Names of the pods this runner created and has not deleted yet. */
  livePods(): string[] {
    return [...this.created]
  }

  private podName(node: string): string {
    const safe = node.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40).replace(/-+$/, '')
    return `ebpfctl-debug-${safe}-${this.run_}`
  }

  private async start(node: NodeTarget, timeoutMs: number): Promise<ExecRunner> {
    const {kube, namespace} = this.opts
    const name = this.podName(node.name)
    const lifetimeSeconds = this.opts.lifetimeSeconds ?? 600
    try {
      this.created.add(name)
      await kube.create(Resources.pods, debugPodManifest({name, namespace, node: node.name, image: this.opts.image, run: this.run_, lifetimeSeconds}))
    } catch (err) {
      this.created.delete(name)
      throw new NodeAccessError(node.name, 'no-agent-pod', `${node.name}: cannot create debug pod ${namespace}/${name}: ${(err as Error).message}`, {
        via: 'exec',
        remedy: `The user needs create/delete on pods and pods/exec in ${namespace}, and privileged pods must be allowed there (Pod Security: privileged).`,
        cause: err,
      })
    }
    const waitMs = Math.min(timeoutMs, this.opts.startTimeoutMs ?? 60_000)
    const deadline = Date.now() + waitMs
    for (;;) {
      const pod = await kube.get<CalicoPod>(Resources.pods, name, namespace).catch(() => undefined)
      const phase = pod?.status?.phase
      const cs = pod?.status?.containerStatuses?.find((c) => c.name === DEBUG_CONTAINER)
      if (phase === 'Running' && cs?.state?.running !== undefined) break
      const waiting = cs?.state?.waiting?.reason
      if (phase === 'Failed' || phase === 'Succeeded' || (waiting && /ErrImagePull|ImagePullBackOff|CreateContainerError|InvalidImageName/.test(waiting))) {
        throw new NodeAccessError(node.name, 'no-agent-pod', `${node.name}: debug pod ${namespace}/${name} did not start (${waiting ?? phase})`, {via: 'exec', target: `${namespace}/${name}`})
      }
      if (Date.now() >= deadline) {
        throw new NodeAccessError(node.name, 'timeout', `${node.name}: debug pod ${namespace}/${name} not running after ${Math.round(waitMs / 1000)}s (${waiting ?? phase ?? 'no status'})`, {
          via: 'exec',
          target: `${namespace}/${name}`,
          remedy: `kubectl describe pod -n ${namespace} ${name}`,
        })
      }
      await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 500))
    }
    return new ExecRunner({kube: this.opts.kube, namespace, container: DEBUG_CONTAINER, labelSelector: `ebpfctl.io/debug-pod=${name}`})
  }

  async run(node: NodeTarget, argv: string[], opts: RunOptions): Promise<RunResult> {
    if (this.closing) throw new NodeAccessError(node.name, 'other', `${node.name}: the debug runner is closed`, {via: 'exec'})
    let runner = this.pods.get(node.name)
    if (!runner) {
      runner = this.start(node, opts.timeoutMs)
      this.pods.set(node.name, runner)
    }
    return (await runner).run(node, argv, opts)
  }

  /** Deletes every pod this runner created (also those still starting). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      process.off('SIGINT', this.onSigint)
      await Promise.allSettled([...this.pods.values()])
      await Promise.allSettled(
        [...this.created].map(async (name) => {
          await this.opts.kube.delete(Resources.pods, name, this.opts.namespace)
          this.created.delete(name)
        }),
      )
    })()
    return this.closing
  }
}
