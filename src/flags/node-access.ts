import {Flags} from '@oclif/core'

import {parseDuration} from '../lib/duration.js'
import {UserError} from '../lib/errors.js'
import type {KubeClient} from '../lib/kube/client.js'
import type {NodeRunner, TransportKind} from '../lib/nodes/types.js'

/** Flags for reaching nodes, shared by check, status, nat dump and conntrack dump. */
export const nodeAccessFlags = {
  via: Flags.option({
    description:
      'How to reach nodes: ssh, exec (into the calico-node pod through the API), debug (a short-lived privileged pod per node running the calico-node image, with the host\'s /sys/fs/bpf; deleted afterwards), local (this machine), or auto (ssh when --ssh-* flags are given, else exec with a cluster, else local).',
    options: ['auto', 'ssh', 'exec', 'debug', 'local'] as const,
    default: 'auto',
    helpGroup: 'NODE ACCESS',
  })(),
  'ssh-user': Flags.string({description: 'SSH login user (default: ssh_config User, else $USER).', helpGroup: 'NODE ACCESS'}),
  'ssh-port': Flags.integer({description: 'SSH port (default: ssh_config Port, else 22).', min: 1, max: 65535, helpGroup: 'NODE ACCESS'}),
  'ssh-identity': Flags.string({description: 'Private key file; repeatable.', multiple: true, helpGroup: 'NODE ACCESS'}),
  'ssh-config': Flags.string({description: 'ssh_config file for Host entries (default ~/.ssh/config).', helpGroup: 'NODE ACCESS'}),
  'ssh-known-hosts': Flags.string({
    description: 'known_hosts file; repeatable (default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts).',
    multiple: true,
    helpGroup: 'NODE ACCESS',
  }),
  'ssh-host': Flags.string({
    description: 'Address to dial for a node, NODE=ADDR[:PORT]; repeatable (default: the node InternalIP, then ExternalIP).',
    multiple: true,
    helpGroup: 'NODE ACCESS',
  }),
  'ssh-insecure-skip-host-key-check': Flags.boolean({
    description: 'Accept any SSH host key. Only for throw-away test clusters.',
    helpGroup: 'NODE ACCESS',
  }),
  sudo: Flags.boolean({
    description: 'Prefix remote commands with `sudo -n` when the SSH user is not root.',
    allowNo: true,
    default: true,
    helpGroup: 'NODE ACCESS',
  }),
  concurrency: Flags.integer({description: 'Nodes worked on at once.', default: 16, min: 1, helpGroup: 'NODE ACCESS'}),
  'node-timeout': Flags.string({description: 'Deadline for the work on each node.', default: '60s', helpGroup: 'NODE ACCESS'}),
}

export interface NodeAccessFlagValues {
  via: 'auto' | 'ssh' | 'exec' | 'debug' | 'local'
  'ssh-user'?: string
  'ssh-port'?: number
  'ssh-identity'?: string[]
  'ssh-config'?: string
  'ssh-known-hosts'?: string[]
  'ssh-host'?: string[]
  'ssh-insecure-skip-host-key-check': boolean
  sudo: boolean
  concurrency: number
  'node-timeout': string
}

export function nodeTimeoutMs(flags: NodeAccessFlagValues): number {
  return parseDuration(flags['node-timeout'], 'node-timeout')
}

/**
 * The transport `--via auto` resolves to: ssh when any --ssh-* flag is given; else exec into calico-node when there is a
 * cluster with Calico; else ssh for a cluster without Calico; else this machine.
 */
export function resolveVia(flags: NodeAccessFlagValues, cluster: {calicoNamespace?: string} | undefined): TransportKind {
  if (flags.via !== 'auto') return flags.via
  const sshAsked = Boolean(
    flags['ssh-user'] || flags['ssh-port'] || flags['ssh-identity']?.length || flags['ssh-host']?.length || flags['ssh-config'],
  )
  if (sshAsked) return 'ssh'
  if (!cluster) return 'local'
  return cluster.calicoNamespace ? 'exec' : 'ssh'
}

/** Builds the NodeRunner the flags ask for; transports are imported only when used (ssh2 costs start-up time). */
export async function openRunner(
  flags: NodeAccessFlagValues,
  cluster: {kube: KubeClient; calicoNamespace?: string; calicoNodeImage?: string} | undefined,
): Promise<NodeRunner> {
  const via = resolveVia(flags, cluster)
  if (via === 'debug') {
    if (!cluster?.calicoNamespace || !cluster.calicoNodeImage) {
      throw new UserError('--via debug needs a cluster with the calico-node DaemonSet (its image is what the debug pods run)', {
        remedy: 'Pass --kubeconfig, or use --via ssh.',
      })
    }
    const {DebugPodRunner} = await import('../lib/nodes/debug-pod.js')
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
    const {ExecRunner} = await import('../lib/nodes/exec.js')
    return new ExecRunner({kube: cluster.kube, namespace: cluster.calicoNamespace})
  }
  if (via === 'ssh') {
    const {SshRunner, parseHostOverrides} = await import('../lib/nodes/ssh.js')
    return new SshRunner({
      user: flags['ssh-user'],
      port: flags['ssh-port'],
      identityFiles: flags['ssh-identity'],
      sshConfigPath: flags['ssh-config'],
      knownHostsPaths: flags['ssh-known-hosts'],
      insecureSkipHostKeyCheck: flags['ssh-insecure-skip-host-key-check'],
      sudo: flags.sudo,
      hostOverrides: parseHostOverrides(flags['ssh-host'] ?? []),
    })
  }
  const {LocalRunner} = await import('../lib/nodes/local.js')
  return new LocalRunner()
}
