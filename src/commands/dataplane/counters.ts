import {BaseCommand} from '../../base-command.js'
import {dumpSessionOptions} from '../../flags/dump.js'
import {fleetFlags, runFleetView} from '../../flags/fleet.js'
import {nodeAccessFlags} from '../../flags/node-access.js'

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
    // Per-interface detail is only in the documents (the table sums it).
    const withInterfaces = flags.output === 'json' || flags.output === 'yaml'
    await runFleetView(this.printers(), dumpSessionOptions(flags, this.requestTimeoutMs()), flags.output, {
      build: async (session) =>
        (await import('../../lib/dataplane/counters.js')).countersReport(session, {concurrency: flags.concurrency, withInterfaces}),
      renderTable: async (report, wide) => (await import('../../lib/output/dumps.js')).renderCountersReport(report, wide),
    })
  }
}
