import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {nodeAccessFlags, nodeAccessOptions} from '../flags/node-access.js'
import {ExitCode, UserError} from '../lib/errors.js'
import {parseByteSize} from '../lib/nodes/bounds.js'
import {isDocumentFormat, machineDocument} from '../lib/output/terminal.js'
import {TABLE_FORMATS, outputFlag} from '../flags/output.js'

export default class Status extends BaseCommand<typeof Status> {
  static override description = `Dataplane as configured and as running on each node.

Configured mode (Installation / FelixConfiguration / FELIX_BPFENABLED); per node, from its BPF state (Calico's
ifstate map, read with \`ifstate dump\` in calico-node or with bpftool): BPF ready (programs attached), BPF configured
but not attached, iptables, unreachable, or unknown, with the reason. Felix's start-up log line is only the fallback,
for nodes whose BPF state cannot be read, and is named as such. Also calico-node readiness, kube-proxy state,
external-service mode (DSR/Tunnel), where calico-node gets the API address (ConfigMap or bootstrap), and the last
enable record.
Exit status: 0 configuration and nodes agree; 1 they disagree, a node cannot be read (the reason is shown), or
kube-proxy runs next to BPF with iptables cleanup on; 2 usage or API error, or Calico is not installed.`

  static override examples = [
    {description: 'Status as text.', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'As JSON for scripts.', command: '<%= config.bin %> <%= command.id %> -o json'},
    {description: "Only Felix's log lines (the old way).", command: '<%= config.bin %> <%= command.id %> --node-state log'},
    {description: 'Nodes over SSH, maps read with bpftool.', command: '<%= config.bin %> <%= command.id %> --via ssh --source bpftool'},
  ]

  static override flags = {
    output: outputFlag(TABLE_FORMATS, 'Output format: table (up to 10 node names per group), wide (every node), json, yaml.'),
    'node-state': Flags.option({
      description:
        "How each node is judged: auto (its BPF state; Felix's log line for nodes where that cannot be read), ifstate (BPF state only), log (Felix's start-up log line only).",
      options: ['auto', 'ifstate', 'log'] as const,
      default: 'auto',
    })(),
    source: Flags.option({
      description: "Where to read the ifstate map: agent (calico-node's bpf tool), bpftool (the pinned map), or auto.",
      options: ['auto', 'agent', 'bpftool'] as const,
      default: 'auto',
    })(),
    'node-read-bytes': Flags.string({
      description: 'Most bytes one node may print for its state (the ifstate map; about 400 bytes per interface).',
      default: '64Ki',
    }),
    'log-concurrency': Flags.integer({default: 16, min: 1, description: 'calico-node logs read at once.'}),
    ...nodeAccessFlags,
  }

  async run(): Promise<void> {
    const {flags} = this
    let nodeReadBytes: number
    try {
      nodeReadBytes = parseByteSize(flags['node-read-bytes'], 'node-read-bytes')
    } catch (err) {
      throw new UserError((err as Error).message, {remedy: 'For example --node-read-bytes 256Ki.'})
    }
    const access = nodeAccessOptions(flags)
    const [kube, {collectStatus}, {renderStatus}] = await Promise.all([
      this.connectCluster(),
      import('../lib/status.js'),
      import('../lib/output/status.js'),
    ])
    let closeRunner: (() => Promise<void>) | undefined
    try {
      const nodes =
        flags['node-state'] === 'log'
          ? undefined
          : async (calico: {namespace: string; version?: string; image?: string}) => {
              const {openRunner, resolveVia} = await import('../lib/nodes/access.js')
              const cluster = {kube, calicoNamespace: calico.namespace, calicoNodeImage: calico.image}
              const runner = await openRunner(access, cluster)
              closeRunner = () => runner.close()
              return {
                runner,
                concurrency: access.concurrency,
                logFallback: flags['node-state'] === 'auto',
                read: {
                  source: flags.source,
                  timeoutMs: access.timeoutMs,
                  calicoVersion: calico.version,
                  agentReachable: resolveVia(access, cluster) === 'exec',
                  maxOutputBytes: nodeReadBytes,
                },
              }
            }
      const status = await collectStatus(kube, {logConcurrency: flags['log-concurrency'], nodes})
      if (isDocumentFormat(flags.output)) {
        // Named like every other document ebpfctl prints (CheckReport, EnablePlan, NatDump …).
        this.outDocument(await machineDocument(flags.output, {apiVersion: 'ebpfctl/v1', kind: 'Status', ...status}))
      } else this.out(renderStatus(status, flags.output === 'wide' ? Infinity : undefined))
      if (status.disagreements.length > 0) this.exit(ExitCode.Failed)
    } finally {
      await closeRunner?.()
      kube.close()
    }
  }
}
