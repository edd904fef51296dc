import {Command} from '@oclif/core'

/**
 * The completion engine's entry (hidden): `ebpfctl __complete WORDS… CURRENT` prints candidates one per line and a
 * `:N` directive (cobra's protocol, as kubectl 1.26+ expects from plugins). Words are never parsed as flags here.
 */
export default class Complete extends Command {
  static override hidden = true
  static override strict = false
  static override description = 'Shell completion engine (used by the completion scripts and kubectl).'

  async run(): Promise<void> {
    const [{complete, formatCompletion}, {clusterValues}] = await Promise.all([
      import('../lib/completion/engine.js'),
      import('../lib/completion/dynamic.js'),
    ])
    const commands = this.config.commands.map((c) => ({
      id: c.id,
      hidden: c.hidden,
      flags: Object.fromEntries(
        Object.entries(c.flags ?? {}).map(([name, f]) => [
          name,
          {
            name,
            type: f.type,
            char: f.char,
            options: f.type === 'option' ? f.options : undefined,
            multiple: f.type === 'option' ? f.multiple : undefined,
            hidden: f.hidden,
            allowNo: f.type === 'boolean' ? f.allowNo : undefined,
          },
        ]),
      ),
    }))
    const words = this.argv.length ? this.argv : ['']
    const top = {help: {name: 'help', type: 'boolean' as const}, ...(words.length === 1 ? {version: {name: 'version', type: 'boolean' as const}} : {})}
    const result = await complete(words, commands, top, clusterValues())
    process.stdout.write(formatCompletion(result))
  }
}
