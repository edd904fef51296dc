import {UserError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import type {InstallInfo} from '../kube/cluster.js'
import type {NodeRunner, TransportKind} from './types.js'

/** How a command reaches nodes: the one options type every command fills (src/flags/node-access.ts maps the flags). */
export interface NodeAccessOptions {
  /** auto: ssh when SSH settings are given; else exec with a cluster that runs Calico; else ssh; else this machine. */
  via: 'auto' | TransportKind
  ssh: {
    user?: string
    port?: number
    identityFiles?: string[]
    configPath?: string
    knownHostsPaths?: string[]
    /** NODE=ADDR[:PORT], as given. */
    hostOverrides?: string[]
    insecureSkipHostKeyCheck: boolean
    sudo: boolean
  }
  /** Nodes worked on at once. */
  concurrency: number
  /** Deadline for the work on each node. */
  timeoutMs: number
}

/** The cluster as node access sees it: where calico-node runs (exec) and its image (debug pods). */
export interface NodeAccessCluster {
  kube: KubeClient
  calicoNamespace?: string
  calicoNodeImage?: string
}

/** The one way a command turns its cluster read into what node access needs. */
export function nodeAccessCluster(kube: KubeClient, install: InstallInfo | undefined): NodeAccessCluster {
  const calicoNodeImage = install?.calicoNode?.spec?.template?.spec?.containers?.find((c) => c.name === 'calico-node')?.image
  return {kube, calicoNamespace: install?.calicoNamespace, calicoNodeImage}
}

/** True when any SSH setting was given: `--via auto` then means ssh. */
function sshAsked(ssh: NodeAccessOptions['ssh']): boolean {
  return Boolean(ssh.user || ssh.port || ssh.identityFiles?.length || ssh.hostOverrides?.length || ssh.configPath)
}

/**
 * The transport `via: auto` resolves to: ssh when any SSH setting is given; else exec into calico-node when there is a
 * cluster with Calico; else ssh for a cluster without Calico; else this machine.
 */
export function resolveVia(access: Pick<NodeAccessOptions, 'via' | 'ssh'>, cluster: {calicoNamespace?: string} | undefined): TransportKind {
  if (access.via !== 'auto') return access.via
  if (sshAsked(access.ssh)) return 'ssh'
  if (!cluster) return 'local'
  return cluster.calicoNamespace ? 'exec' : 'ssh'
}

/** Builds the NodeRunner the options ask for; transports are imported only when used (ssh2 costs start-up time). */
export async function openRunner(
  access: Pick<NodeAccessOptions, 'via' | 'ssh'>,
  cluster: NodeAccessCluster | undefined,
): Promise<NodeRunner> {
  const via = resolveVia(access, cluster)
  if (via === 'debug') {
    if (!cluster?.calicoNamespace || !cluster.calicoNodeImage) {
      throw new UserError('--via debug needs a cluster with the calico-node DaemonSet (its image is what the debug pods run)', {
        remedy: 'Pass --kubeconfig, or use --via ssh.',
      })
    }
    const {DebugPodRunner} = await import('./debug-pod.js')
    return new DebugPodRunner({kube: cluster.kube, namespace: cluster.calicoNamespace, image: cluster.calicoNodeImage})
  }
  if (via === 'exec') {
    if (!cluster) {
      throw new UserError('--via exec needs a cluster', {remedy: 'Pass --kubeconfig (or use --via ssh / --via local).'})
    }
    if (!cluster.calicoNamespace) {
      throw new UserError('--via exec needs calico-node pods, and Calico is not installed', {
        remedy: 'Use --via ssh to reach the nodes directly.',
      })
    }
    const {ExecRunner} = await import('./exec.js')
    return new ExecRunner({kube: cluster.kube, namespace: cluster.calicoNamespace})
  }
  if (via === 'ssh') {
    const {SshRunner, parseHostOverrides} = await import('./ssh.js')
    const {ssh} = access
    return new SshRunner({
      user: ssh.user,
      port: ssh.port,
      identityFiles: ssh.identityFiles,
      sshConfigPath: ssh.configPath,
      knownHostsPaths: ssh.knownHostsPaths,
      insecureSkipHostKeyCheck: ssh.insecureSkipHostKeyCheck,
      sudo: ssh.sudo,
      hostOverrides: parseHostOverrides(ssh.hostOverrides ?? []),
    })
  }
  const {LocalRunner} = await import('./local.js')
  return new LocalRunner()
}
