import {Flags} from '@oclif/core'

import type {DumpSessionOptions} from '../lib/dataplane/dump-session.js'
import {UserError} from '../lib/errors.js'
import {parseByteSize} from '../lib/nodes/bounds.js'
import {type NodeAccessFlagValues, nodeAccessOptions} from './node-access.js'
import {TABLE_FORMATS, outputFlag} from './output.js'

function parseMaxOutputBytes(text: string): number {
  try {
    return parseByteSize(text)
  } catch (err) {
    throw new UserError((err as Error).message, {remedy: 'For example --max-output-bytes 2Gi.'})
  }
}

/** Flags shared by `nat dump` and `conntrack dump`. */
export const dumpFlags = {
  // No -n/-A short forms: kubectl users read those as --namespace/--all-namespaces.
  node: Flags.string({description: 'Node to read; repeatable.', multiple: true, exclusive: ['all-nodes']}),
  'all-nodes': Flags.boolean({description: 'Read every Linux node.'}),
  source: Flags.option({
    description:
      "Where to read the maps: agent (Calico's calico-node -bpf tool), bpftool (the pinned maps, decoded by ebpfctl; works when calico-node is broken), or auto.",
    options: ['auto', 'agent', 'bpftool'] as const,
    default: 'auto',
  })(),
  'agent-cmd': Flags.string({
    description: "Over SSH: argv prefix that reaches the calico-node container, e.g. 'crictl exec 3f2a…'.",
  }),
  'agent-crictl': Flags.boolean({
    description: 'Over SSH: find the calico-node container with crictl and run the agent inside it.',
  }),
  ip: Flags.string({description: 'Only entries with this IP at either end.'}),
  port: Flags.integer({description: 'Only entries with this port at either end.', min: 0, max: 65535}),
  proto: Flags.string({description: 'Only this protocol (tcp, udp, sctp, icmp or a number).'}),
  'max-output-bytes': Flags.string({
    description:
      'Most bytes one node may print for a streamed dump (e.g. 512Mi, 2Gi); past it that node\'s read stops with "output limit reached". Output parsed whole is also capped at 32Mi.',
    default: '1Gi',
  }),
  output: outputFlag(TABLE_FORMATS, 'Output format: table, wide (more columns), json, yaml (the same document).'),
}

/** The dump session options from the parsed flags of either dump command. */
export function dumpSessionOptions(
  flags: NodeAccessFlagValues & {
    kubeconfig?: string
    context?: string
    node?: string[]
    'all-nodes': boolean
    source: 'auto' | 'agent' | 'bpftool'
    'agent-cmd'?: string
    'agent-crictl': boolean
    'max-output-bytes': string
  },
  requestTimeoutMs: number,
): DumpSessionOptions {
  return {
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    requestTimeoutMs,
    access: nodeAccessOptions(flags),
    nodes: flags.node,
    allNodes: flags['all-nodes'],
    source: flags.source,
    agentCmd: flags['agent-cmd'],
    agentCrictl: flags['agent-crictl'],
    maxOutputBytes: parseMaxOutputBytes(flags['max-output-bytes']),
  }
}
