import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {dumpSessionOptions} from '../../flags/dump.js'
import {fleetFlags, parseServiceFlag} from '../../flags/fleet.js'
import {nodeAccessFlags} from '../../flags/node-access.js'
import {ExitCode} from '../../lib/errors.js'

export default class NatAff extends BaseCommand<typeof NatAff> {
  static override description = "Calico's NAT affinity table on nodes (clients pinned to a backend by sessionAffinity: ClientIP), joined to Services and pods."

  static override examples = ['<%= config.bin %> nat aff --all-nodes --service default/web', '<%= config.bin %> nat aff --node worker-1 --via ssh --source bpftool -o json']

  static override flags = {
    ...fleetFlags,
    ...nodeAccessFlags,
    service: Flags.string({description: 'Only entries of this Service, NAMESPACE/NAME.'}),
  }

  async run(): Promise<void> {
    const {flags} = this
    const service = await parseServiceFlag(flags.service)
    const {openDumpSession} = await import('../../lib/dataplane/session.js')
    const session = await openDumpSession(dumpSessionOptions(flags, this.requestTimeoutMs()))
    try {
      const {natAffReport} = await import('../../lib/dataplane/nat-tables.js')
      const {jsonDocument, yamlDocument} = await import('../../lib/output/terminal.js')
      const report = await natAffReport(session, {concurrency: flags.concurrency, service})
      if (flags.output === 'json') this.outDocument(jsonDocument(report))
      else if (flags.output === 'yaml') this.outDocument(await yamlDocument(report))
      else {
        const {renderNatAffTable} = await import('../../lib/dataplane/render.js')
        this.out(renderNatAffTable(report, flags.output === 'wide'))
      }
      const {writeNodeErrors} = await import('../../lib/output/node-errors.js')
      writeNodeErrors(report.nodes, (t) => this.err(t))
      if (report.nodes.some((n) => n.error)) process.exitCode = ExitCode.Failed
    } finally {
      await session.close()
    }
  }
}
