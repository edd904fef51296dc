import {Args, Command, loadHelpClass} from '@oclif/core'

/** `ebpfctl help [COMMAND]`, as kubectl has; our own so start-up does not load @oclif/plugin-help's package. */
export default class Help extends Command {
  static override args = {command: Args.string({description: 'Command to show help for.', required: false})}
  static override description = 'Display help for <%= config.bin %>.'
  static override strict = false

  public async run(): Promise<void> {
    const {argv} = await this.parse(Help)
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config).showHelp(argv as string[])
  }
}
