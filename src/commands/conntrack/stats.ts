import {BaseCommand} from '../../base-command.js'
import {dumpSessionOptions} from '../../flags/dump.js'
import {fleetFlags} from '../../flags/fleet.js'
import {nodeAccessFlags} from '../../flags/node-access.js'
import {ExitCode} from '../../lib/errors.js'

export default class ConntrackStats extends BaseCommand<typeof ConntrackStats> {
  static override description = `How full Calico's BPF conntrack map is on each node, and what to do about it.

Per node: map entries against the map's real size (max_entries), fill %, NAT share, TCP states; then sizing advice
from the fullest node in FelixConfiguration terms (bpfMapSizeConntrack, bpfMapSizeConntrackScaling). Uses Calico's
own \`conntrack stats\` (v3.30+: a few hundred bytes per node), else counts a dump.
Exit status: 0 fine; 1 a node could not be read, or a map is over 85% full; 2 usage or API error.`

  static override examples = [
    '<%= config.bin %> conntrack stats --all-nodes',
    '<%= config.bin %> conntrack stats --node worker-1 --via ssh --source bpftool -o json',
  ]

  static override flags = {...fleetFlags, ...nodeAccessFlags}

  async run(): Promise<void> {
    const {flags} = this
    const {openDumpSession} = await import('../../lib/dataplane/session.js')
    const session = await openDumpSession(dumpSessionOptions(flags, this.requestTimeoutMs()))
    try {
      const {conntrackStatsReport} = await import('../../lib/dataplane/conntrack-stats.js')
      const {jsonDocument, yamlDocument} = await import('../../lib/output/terminal.js')
      const report = await conntrackStatsReport(session, {concurrency: flags.concurrency})
      if (flags.output === 'json') this.outDocument(jsonDocument(report))
      else if (flags.output === 'yaml') this.outDocument(await yamlDocument(report))
      else {
        const {renderConntrackStatsReport} = await import('../../lib/dataplane/render.js')
        this.out(renderConntrackStatsReport(report, flags.output === 'wide'))
      }
      const {writeNodeErrors} = await import('../../lib/output/node-errors.js')
      writeNodeErrors(report.nodes, (t) => this.err(t))
      if (report.nodes.some((n) => n.error) || report.advice.some((a) => a.level === 'fail')) process.exitCode = ExitCode.Failed
    } finally {
      await session.close()
    }
  }
}
