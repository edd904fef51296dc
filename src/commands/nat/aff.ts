import {BaseCommand} from '../../base-command.js'
import {dumpSessionOptions} from '../../flags/dump.js'
import {natTableFlags, natTableView, runFleetView} from '../../flags/fleet.js'

export default class NatAff extends BaseCommand<typeof NatAff> {
  static override description = "Calico's NAT affinity table on nodes (clients pinned to a backend by sessionAffinity: ClientIP), joined to Services and pods."

  static override examples = ['<%= config.bin %> nat aff --all-nodes --service default/web', '<%= config.bin %> nat aff --node worker-1 --via ssh --source bpftool -o json']

  static override flags = natTableFlags

  async run(): Promise<void> {
    const {flags} = this
    const view = await natTableView('aff', flags)
    await runFleetView(this.printers(), dumpSessionOptions(flags, this.requestTimeoutMs()), flags.output, view)
  }
}
