import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {dumpSessionOptions} from '../../flags/dump.js'
import {fleetFlags, parseServiceFlag, runFleetView} from '../../flags/fleet.js'
import {nodeAccessFlags} from '../../flags/node-access.js'

export default class NatMaglev extends BaseCommand<typeof NatMaglev> {
  static override description = "Calico's Maglev lookup table on nodes (v3.32+): per Service, how its slots are spread over the backends, joined to Services and pods."

  static override examples = ['<%= config.bin %> nat maglev --all-nodes', '<%= config.bin %> nat maglev --node worker-1 --via ssh --source bpftool -o json']

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
        (await import('../../lib/dataplane/nat-tables.js')).natMaglevReport(session, {concurrency: flags.concurrency, service}),
      renderTable: async (report, wide) => (await import('../../lib/output/dumps.js')).renderNatMaglevTable(report, wide),
    })
  }
}
