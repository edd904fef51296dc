import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'

export default class Completion extends BaseCommand<typeof Completion> {
  static override description = `Print a shell completion script for bash, zsh or fish.

Completes commands, flags, check IDs (--only, --ignore), -o and other option values, kubeconfig contexts (--context)
and, from the cluster, node names (--node, --nodes; one bounded list request, at most 2 s or
EBPFCTL_COMPLETION_TIMEOUT).`

  static override examples = [
    {description: 'bash, this shell only.', command: 'source <(<%= config.bin %> <%= command.id %> bash)'},
    {description: 'zsh (after compinit).', command: 'source <(<%= config.bin %> <%= command.id %> zsh)'},
    {description: 'fish.', command: '<%= config.bin %> <%= command.id %> fish | source'},
    {
      description: 'bash, for every new shell.',
      command: '<%= config.bin %> <%= command.id %> bash > ~/.local/share/bash-completion/completions/<%= config.bin %>',
    },
  ]

  static override args = {
    shell: Args.string({description: 'The shell.', options: ['bash', 'zsh', 'fish'], required: true}),
  }

  async run(): Promise<void> {
    const {completionScript} = await import('../lib/completion/scripts.js')
    // The script registers the program's own name (never the `kubectl calico-ebpf` usage name).
    this.outDocument(completionScript(this.args.shell as 'bash' | 'zsh' | 'fish', 'ebpfctl'))
  }
}
