import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {dumpFlags, dumpSessionOptions} from '../../flags/dump.js'
import {nodeAccessFlags} from '../../flags/node-access.js'
import {ExitCode, UserError} from '../../lib/errors.js'
import {jsonDocument, yamlDocument} from '../../lib/output/terminal.js'

export default class NatDump extends BaseCommand<typeof NatDump> {
  static override description =
    "Show Calico's BPF NAT map (service frontends and their backends) on nodes, joined to Kubernetes Services and pods."

  static override examples = [
    '<%= config.bin %> nat dump --node worker-1',
    '<%= config.bin %> nat dump --all-nodes --service default/kubernetes',
    '<%= config.bin %> nat dump --all-nodes --check-drift',
    '<%= config.bin %> nat dump --node worker-1 --via ssh --source bpftool -o json',
  ]

  static override flags = {
    ...dumpFlags,
    ...nodeAccessFlags,
    service: Flags.string({description: 'Only frontends of this Service, NAMESPACE/NAME.'}),
    'check-drift': Flags.boolean({
      description:
        'Compare each node with the EndpointSlices and with the other nodes; exit 1 when they disagree (stale backends, missing services, nodes that differ).',
    }),
  }

  async run(): Promise<void> {
    const {flags} = this
    let service: {namespace: string; name: string} | undefined
    if (flags.service) {
      const m = flags.service.match(/^([^/\s]+)\/([^/\s]+)$/)
      if (!m) throw new UserError(`--service=${flags.service} is not NAMESPACE/NAME`, {remedy: 'For example: --service default/kubernetes'})
      service = {namespace: m[1]!, name: m[2]!}
    }
    const {parseProto} = await import('../../lib/dataplane/dump-filter.js')
    const filter = {ip: flags.ip, port: flags.port, proto: parseProto(flags.proto)}
    const {openDumpSession} = await import('../../lib/dataplane/dump-session.js')
    const session = await openDumpSession(dumpSessionOptions(flags, this.requestTimeoutMs()))
    try {
      const {natDump} = await import('../../lib/dataplane/nat-dump.js')
      const report = await natDump(session, {filter, service, checkDrift: flags['check-drift'], concurrency: flags.concurrency})
      if (flags.output === 'json') this.outDocument(jsonDocument(report))
      else if (flags.output === 'yaml') this.outDocument(await yamlDocument(report))
      else {
        const {renderNatTable} = await import('../../lib/output/dumps.js')
        this.out(renderNatTable(report, flags.output === 'wide'))
      }
      const {writeNodeErrors} = await import('../../lib/output/node-errors.js')
      writeNodeErrors(report.nodes, (t) => this.err(t))
      const failedNode = report.nodes.some((n) => n.error)
      // exitCode, not this.exit(): exiting at once would cut off stdout that is still draining into a pipe.
      if (failedNode || (report.drift && report.drift.length > 0)) process.exitCode = ExitCode.Failed
    } finally {
      await session.close()
    }
  }
}
