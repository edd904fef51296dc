import {once} from 'node:events'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {dumpFlags, dumpSessionOptions} from '../../flags/dump.js'
import {nodeAccessFlags} from '../../flags/node-access.js'
import {ExitCode} from '../../lib/errors.js'

export default class ConntrackDump extends BaseCommand<typeof ConntrackDump> {
  static override description =
    "Show Calico's BPF conntrack map on nodes: connections, NAT entries with the original service address, TCP states; or --stats."

  static override examples = [
    '<%= config.bin %> conntrack dump --node worker-1',
    '<%= config.bin %> conntrack dump --node worker-1 --nat-only --ip 10.96.0.10',
    '<%= config.bin %> conntrack dump --all-nodes --stats',
    '<%= config.bin %> conntrack dump --node worker-1 --via ssh --source bpftool -o json > ct.json',
  ]

  static override flags = {
    ...dumpFlags,
    ...nodeAccessFlags,
    'nat-only': Flags.boolean({description: 'Only NAT entries (forward and reverse).'}),
    stats: Flags.boolean({description: 'Counts by type, protocol and TCP state, and how full the map is.'}),
  }

  async run(): Promise<void> {
    const {flags} = this
    const {parseProto} = await import('../../lib/dataplane/dump-filter.js')
    const filter = {ip: flags.ip, port: flags.port, proto: parseProto(flags.proto), natOnly: flags['nat-only']}
    const {openDumpSession} = await import('../../lib/dataplane/dump-session.js')
    const session = await openDumpSession(dumpSessionOptions(flags, this.requestTimeoutMs()))
    try {
      const {conntrackDump} = await import('../../lib/dataplane/conntrack-dump.js')
      const {JsonConntrackSink, TableConntrackSink} = await import('../../lib/output/conntrack-sinks.js')
      const {jsonDocument, sanitizeForTerminal, yamlDocument} = await import('../../lib/output/terminal.js')
      // Backpressure: when stdout is full (a slow pipe), node reads pause until it drains instead of queueing.
      const drained = () => once(process.stdout, 'drain')
      let results
      if (flags.stats) {
        const {renderConntrackStats} = await import('../../lib/output/dumps.js')
        results = await conntrackDump(session, {filter, stats: true, concurrency: flags.concurrency})
        const perNode = results.map((r) => ({node: r.node, stats: r.stats, error: r.error?.message}))
        if (flags.output === 'json') this.outDocument(jsonDocument({apiVersion: 'ebpfctl/v1', kind: 'ConntrackStats', nodes: results}))
        else if (flags.output === 'yaml') this.outDocument(await yamlDocument({apiVersion: 'ebpfctl/v1', kind: 'ConntrackStats', nodes: results}))
        else this.out(renderConntrackStats(perNode))
      } else if (flags.output === 'json') {
        const sink = new JsonConntrackSink((text) => process.stdout.write(text), drained)
        results = await conntrackDump(session, {filter, stats: false, concurrency: 1}, sink)
        sink.finish()
      } else if (flags.output === 'yaml') {
        // The JSON document, collected and re-emitted as YAML: the same shape by construction.
        const parts: string[] = []
        const sink = new JsonConntrackSink((text) => parts.push(text))
        results = await conntrackDump(session, {filter, stats: false, concurrency: 1}, sink)
        sink.finish()
        this.outDocument(await yamlDocument(JSON.parse(parts.join(''))))
      } else {
        // Rows carry node names and agent fields: the same sanitizing as out().
        const sink = new TableConntrackSink(flags.output === 'wide', (text) => process.stdout.write(sanitizeForTerminal(text)), drained)
        results = await conntrackDump(session, {filter, stats: false, concurrency: 1}, sink)
        sink.flush()
        if (sink.rows === 0 && results.every((r) => !r.error)) this.out('No conntrack entries matched.')
        for (const r of results) {
          if (!r.error && r.summary?.unknownLines)
            this.err(`warn ${r.node}: ${r.summary.unknownLines} entries or lines were not understood`)
        }
      }
      const {writeNodeErrors} = await import('../../lib/output/node-errors.js')
      writeNodeErrors(results, (t) => this.err(t))
      // exitCode, not this.exit(): exiting at once would cut off stdout that is still draining into a pipe.
      if (results.some((r) => r.error)) process.exitCode = ExitCode.Failed
    } finally {
      await session.close()
    }
  }
}
