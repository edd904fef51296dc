/** The completion engine on its own: words in, candidates and cobra's directive out. */
import {describe, expect, it} from 'vitest'

import {type CommandSpec, Directive, complete, formatCompletion} from '../../../src/lib/completion/engine.js'

const commands: CommandSpec[] = [
  {
    id: 'check',
    flags: {
      output: {name: 'output', type: 'option', char: 'o', options: ['table', 'json']},
      only: {name: 'only', type: 'option', multiple: true},
      kubeconfig: {name: 'kubeconfig', type: 'option'},
      sudo: {name: 'sudo', type: 'boolean', allowNo: true},
      strict: {name: 'strict', type: 'boolean'},
      'poll-interval': {name: 'poll-interval', type: 'option', hidden: true},
    },
  },
  {
    id: 'nat:dump',
    flags: {
      node: {name: 'node', type: 'option', multiple: true},
      kubeconfig: {name: 'kubeconfig', type: 'option'},
      context: {name: 'context', type: 'option'},
    },
  },
  {id: '__complete', hidden: true, flags: {}},
]
const dynamic = {
  checkIds: async () => ['kernel', 'kernel-config', 'bpffs'],
  nodeNames: async () => ['worker-1', 'worker-2'],
  contexts: async () => ['prod'],
}
const run = (...words: string[]) => complete(words, commands, {help: {name: 'help', type: 'boolean'}}, dynamic)

describe('completion engine', () => {
  it('commands and topics, hidden ones left out', async () => {
    expect(await run('')).toEqual({candidates: ['check', 'nat'], directive: Directive.NoFileComp})
    expect((await run('nat', '')).candidates).toEqual(['dump'])
  })

  it('flags: not repeated unless multiple, hidden left out, --no- forms', async () => {
    expect((await run('check', '--strict', '--')).candidates).toEqual(['--help', '--kubeconfig', '--no-sudo', '--only', '--output', '--sudo'])
    expect((await run('check', '--no-sudo', '--o')).candidates).toEqual(['--only', '--output'])
  })

  it('values: -o X, --output=X, -oX is a complete flag; a value after a flag is not a command', async () => {
    expect((await run('check', '-o', 'j')).candidates).toEqual(['json'])
    expect((await run('check', '--output=t')).candidates).toEqual(['--output=table'])
    expect((await run('check', '-ojson', '--st')).candidates).toEqual(['--strict'])
    expect((await run('check', '--only', 'kernel,b')).candidates).toEqual(['kernel,bpffs'])
    expect((await run('nat', 'dump', '--node', 'w')).candidates).toEqual(['worker-1', 'worker-2'])
  })

  it('a file flag lets the shell complete files (directive 0); formatting drops control characters', async () => {
    expect(await run('check', '--kubeconfig', '')).toEqual({candidates: [], directive: Directive.Default})
    expect(formatCompletion({candidates: ['a\u001b[2Jb', 'c'], directive: 4})).toBe('a[2Jb\nc\n:4\n')
  })

  it('the cluster is the one the typed words name, read as the shell will pass them (quotes, ~, $HOME)', async () => {
    const asked: unknown[] = []
    const recording = {
      ...dynamic,
      nodeNames: async (opts: {kubeconfig?: string; context?: string}) => (asked.push(opts), []),
      contexts: async (opts: {kubeconfig?: string}) => (asked.push(opts), []),
    }
    const env = {HOME: '/home/u'}
    const words = (...w: string[]) => complete(w, commands, {}, recording, env)
    await words('nat', 'dump', '--kubeconfig', '~/my\\ kube/config', '--context', "'prod'", '--node', '')
    await words('nat', 'dump', '--kubeconfig', '"$HOME/a b/k"', '--context', '')
    await words('nat', 'dump', '--kubeconfig', '${HOME}/k', '--node', '')
    expect(asked).toEqual([
      {kubeconfig: '/home/u/my kube/config', context: 'prod'},
      {kubeconfig: '/home/u/a b/k', context: undefined},
      {kubeconfig: '/home/u/k', context: undefined},
    ])
  })
})
