import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {ExitCode} from '../lib/errors.js'
import {isDocumentFormat, machineDocument} from '../lib/output/terminal.js'
import {TABLE_FORMATS, outputFlag} from '../flags/output.js'

export default class Status extends BaseCommand<typeof Status> {
  static override description = `Dataplane as configured and as running on each node.

Configured mode (Installation / FelixConfiguration / FELIX_BPFENABLED), per node what Felix's calico-node log says (BPF
active, fallen back to iptables, iptables with BPF off, unknown; grouped), calico-node readiness, kube-proxy state,
external-service mode (DSR/Tunnel), where calico-node gets the API address (ConfigMap or bootstrap), and the last
enable record.
Exit status: 0 configuration and nodes agree; 1 they disagree, a node's log cannot be read (the reason is shown), or
kube-proxy runs next to BPF with iptables cleanup on; 2 usage or API error, or Calico is not installed.`

  static override examples = [
    {description: 'Status as text.', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'As JSON for scripts.', command: '<%= config.bin %> <%= command.id %> -o json'},
  ]

  static override flags = {
    output: outputFlag(TABLE_FORMATS, 'Output format: table (up to 10 node names per group), wide (every node), json, yaml.'),
    'log-concurrency': Flags.integer({default: 16, min: 1, description: 'calico-node logs read at once.'}),
  }

  async run(): Promise<void> {
    const {flags} = this
    const [kube, {collectStatus, renderStatus}] = await Promise.all([this.connectCluster(), import('../lib/plan/status.js')])
    try {
      const status = await collectStatus(kube, {logConcurrency: flags['log-concurrency']})
      if (isDocumentFormat(flags.output)) this.outDocument(await machineDocument(flags.output, status))
      else this.out(renderStatus(status, flags.output === 'wide' ? Infinity : undefined))
      if (status.disagreements.length > 0) this.exit(ExitCode.Failed)
    } finally {
      kube.close()
    }
  }
}
