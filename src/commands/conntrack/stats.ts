import {BaseCommand} from '../../base-command.js'
import {dumpSessionOptions} from '../../flags/dump.js'
import {fleetFlags, runFleetView} from '../../flags/fleet.js'
import {nodeAccessFlags} from '../../flags/node-access.js'

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
    await runFleetView(this.printers(), dumpSessionOptions(flags, this.requestTimeoutMs()), flags.output, {
      build: async (session) =>
        (await import('../../lib/dataplane/conntrack-stats.js')).conntrackStatsReport(session, {concurrency: flags.concurrency}),
      renderTable: async (report, wide) => (await import('../../lib/output/dumps.js')).renderConntrackStatsReport(report, wide),
      failed: (report) => report.advice.some((a) => a.level === 'fail'),
    })
  }
}
