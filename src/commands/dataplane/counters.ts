import {BaseCommand} from '../../base-command.js'
import {dumpSessionOptions} from '../../flags/dump.js'
import {fleetFlags} from '../../flags/fleet.js'
import {nodeAccessFlags} from '../../flags/node-access.js'
import {ExitCode} from '../../lib/errors.js'

export default class DataplaneCounters extends BaseCommand<typeof DataplaneCounters> {
  static override description = `What Calico's BPF programs did with packets on each node: accepted, dropped by reason, redirected.

Summed over interfaces and hooks (ingress, egress, XDP) from Calico's counters map (\`counters dump\` in calico-node,
or the pinned cali_counters map with bpftool); drop reasons with the most packets first, per node and over the
fleet, with the interfaces that drop most. Counters count since Felix created them (or the last \`counters flush\`).
Exit status: 0 read; 1 a node could not be read; 2 usage or API error.`

  static override examples = [
    '<%= config.bin %> dataplane counters --all-nodes',
    '<%= config.bin %> dataplane counters --node worker-1 -o wide',
    '<%= config.bin %> dataplane counters --all-nodes -o json',
  ]

  static override flags = {...fleetFlags, ...nodeAccessFlags}

  async run(): Promise<void> {
    const {flags} = this
    const {openDumpSession} = await import('../../lib/dataplane/session.js')
    const session = await openDumpSession(dumpSessionOptions(flags, this.requestTimeoutMs()))
    try {
      const {countersReport} = await import('../../lib/dataplane/counters.js')
      const {jsonDocument, yamlDocument} = await import('../../lib/output/terminal.js')
      const structured = flags.output === 'json' || flags.output === 'yaml'
      const report = await countersReport(session, {concurrency: flags.concurrency, withInterfaces: structured})
      if (flags.output === 'json') this.outDocument(jsonDocument(report))
      else if (flags.output === 'yaml') this.outDocument(await yamlDocument(report))
      else {
        const {renderCountersReport} = await import('../../lib/dataplane/render.js')
        this.out(renderCountersReport(report, flags.output === 'wide'))
      }
      const {writeNodeErrors} = await import('../../lib/output/node-errors.js')
      writeNodeErrors(report.nodes, (t) => this.err(t))
      if (report.nodes.some((n) => n.error)) process.exitCode = ExitCode.Failed
    } finally {
      await session.close()
    }
  }
}
