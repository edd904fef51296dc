import {BaseCommand} from '../../base-command.js'
import {dumpSessionOptions} from '../../flags/dump.js'
import {natTableFlags, natTableView, runFleetView} from '../../flags/fleet.js'

export default class NatMaglev extends BaseCommand<typeof NatMaglev> {
  static override description = "Calico's Maglev lookup table on nodes (v3.32+): per Service, how its slots are spread over the backends, joined to Services and pods."

  static override examples = ['<%= config.bin %> nat maglev --all-nodes', '<%= config.bin %> nat maglev --node worker-1 --via ssh --source bpftool -o json']

  static override flags = natTableFlags

  async run(): Promise<void> {
    const {flags} = this
    const view = await natTableView('maglev', flags)
    await runFleetView(this.printers(), dumpSessionOptions(flags, this.requestTimeoutMs()), flags.output, view)
  }
}
