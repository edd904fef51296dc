import {Flags} from '@oclif/core'

import {parseDuration} from '../lib/duration.js'
import type {NodeAccessOptions} from '../lib/nodes/access.js'

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

/** The flags, by their names, as the one node-access options type of src/lib/nodes/access.ts. */
export function nodeAccessOptions(flags: NodeAccessFlagValues): NodeAccessOptions {
  return {
    via: flags.via,
    ssh: {
      user: flags['ssh-user'],
      port: flags['ssh-port'],
      identityFiles: flags['ssh-identity'],
      configPath: flags['ssh-config'],
      knownHostsPaths: flags['ssh-known-hosts'],
      hostOverrides: flags['ssh-host'],
      insecureSkipHostKeyCheck: flags['ssh-insecure-skip-host-key-check'],
      sudo: flags.sudo,
    },
    concurrency: flags.concurrency,
    timeoutMs: parseDuration(flags['node-timeout'], 'node-timeout'),
  }
}
