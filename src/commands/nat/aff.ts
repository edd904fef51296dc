import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {dumpSessionOptions} from '../../flags/dump.js'
import {fleetFlags, parseServiceFlag, runFleetView} from '../../flags/fleet.js'
import {nodeAccessFlags} from '../../flags/node-access.js'

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
    await runFleetView(this.printers(), dumpSessionOptions(flags, this.requestTimeoutMs()), flags.output, {
      build: async (session) =>
        (await import('../../lib/dataplane/nat-tables.js')).natAffReport(session, {concurrency: flags.concurrency, service}),
      renderTable: async (report, wide) => (await import('../../lib/output/dumps.js')).renderNatAffTable(report, wide),
    })
  }
}
