import {Flags} from '@oclif/core'

import type {NatAffReport, NatMaglevReport} from '../lib/dataplane/nat-tables.js'
import type {DumpSession, DumpSessionOptions} from '../lib/dataplane/dump-session.js'
import type {NodeErrorLike} from '../lib/output/node-errors.js'
import {dumpFlags} from './dump.js'
import {nodeAccessFlags} from './node-access.js'

/** Flags of the fleet views (conntrack stats, dataplane counters, nat aff/maglev): the dumps' flags without filters. */
export const fleetFlags = {
  node: dumpFlags.node,
  'all-nodes': dumpFlags['all-nodes'],
  source: dumpFlags.source,
  'agent-cmd': dumpFlags['agent-cmd'],
  'agent-crictl': dumpFlags['agent-crictl'],
  'max-output-bytes': dumpFlags['max-output-bytes'],
  output: dumpFlags.output,
}

/** `--service NAMESPACE/NAME`, or a usage error naming the expected form. */
export async function parseServiceFlag(value: string | undefined): Promise<{namespace: string; name: string} | undefined> {
  if (!value) return undefined
  const m = value.match(/^([^/\s]+)\/([^/\s]+)$/)
  if (!m) {
    const {UserError} = await import('../lib/errors.js')
    throw new UserError(`--service=${value} is not NAMESPACE/NAME`, {remedy: 'For example: --service default/kubernetes'})
  }
  return {namespace: m[1]!, name: m[2]!}
}

/** What a fleet view command hands to runFleetView: its report, its table, and when the report is a failure. */
export interface FleetView<R extends {nodes: NodeErrorLike[]}> {
  build(session: DumpSession): Promise<R>
  renderTable(report: R, wide: boolean): Promise<string>
  /** A failure beyond a node that could not be read (e.g. a conntrack map over its fill limit). */
  failed?(report: R): boolean
}

/**
 * The one run of every fleet view: open the dump session, build the report, print it in the `-o` format (documents
 * on stdout), node errors on stderr, exit 1 when a node could not be read or the view says the report fails.
 */
export async function runFleetView<R extends {nodes: NodeErrorLike[]}>(
  io: {out(text: string): void; err(text: string): void; outDocument(text: string): void},
  sessionOptions: DumpSessionOptions,
  output: string,
  view: FleetView<R>,
): Promise<void> {
  const [{openDumpSession}, {isDocumentFormat, machineDocument}, {writeNodeErrors}, {ExitCode}] = await Promise.all([
    import('../lib/dataplane/dump-session.js'),
    import('../lib/output/terminal.js'),
    import('../lib/output/node-errors.js'),
    import('../lib/errors.js'),
  ])
  const session = await openDumpSession(sessionOptions)
  try {
    const report = await view.build(session)
    if (isDocumentFormat(output)) io.outDocument(await machineDocument(output, report))
    else io.out(await view.renderTable(report, output === 'wide'))
    writeNodeErrors(report.nodes, (t) => io.err(t))
    if (report.nodes.some((n) => n.error) || view.failed?.(report)) process.exitCode = ExitCode.Failed
  } finally {
    await session.close()
  }
}

/** Flags of `nat aff` and `nat maglev`. */
export const natTableFlags = {
  ...fleetFlags,
  ...nodeAccessFlags,
  service: Flags.string({description: 'Only entries of this Service, NAMESPACE/NAME.'}),
}

/** `nat aff` and `nat maglev`: one view over either table, its entries joined to Services and pods. */
export async function natTableView(
  table: 'aff' | 'maglev',
  flags: {concurrency: number; service?: string},
): Promise<FleetView<NatAffReport | NatMaglevReport>> {
  const opts = {concurrency: flags.concurrency, service: await parseServiceFlag(flags.service)}
  return {
    async build(session) {
      const {natAffReport, natMaglevReport} = await import('../lib/dataplane/nat-tables.js')
      return table === 'aff' ? natAffReport(session, opts) : natMaglevReport(session, opts)
    },
    async renderTable(report, wide) {
      const {renderNatAffTable, renderNatMaglevTable} = await import('../lib/output/dumps.js')
      return report.kind === 'NatAffinity' ? renderNatAffTable(report, wide) : renderNatMaglevTable(report, wide)
    },
  }
}
