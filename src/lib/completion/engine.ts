/**
 * Shell completion, cobra's protocol (the one kubectl 1.26+ uses for plugins): given the words after the program name,
 * the last being the word under the cursor (possibly empty), print the candidates one per line, then a `:N` directive
 * line. The bash/zsh/fish scripts (scripts.ts) and `kubectl_complete-calico_ebpf` all call this one engine.
 */
import {shellWordValue} from './shell-word.js'

/** cobra's ShellCompDirective bits. */
export const Directive = {
  /** Nothing special: the shell may fall back to file names when there are no candidates. */
  Default: 0,
  Error: 1,
  /** Do not add a space after the candidate (a comma list goes on). */
  NoSpace: 2,
  /** Never fall back to file names. */
  NoFileComp: 4,
} as const

export interface FlagSpec {
  name: string
  type: 'boolean' | 'option'
  char?: string
  options?: readonly string[]
  multiple?: boolean
  hidden?: boolean
  allowNo?: boolean
}

export interface CommandSpec {
  id: string
  hidden?: boolean
  flags: Record<string, FlagSpec>
}

/** Values that come from elsewhere: check IDs, and from the cluster (each bounded by a short timeout by the caller). */
export interface DynamicValues {
  checkIds(): Promise<readonly string[]>
  nodeNames(opts: {kubeconfig?: string; context?: string}): Promise<string[]>
  contexts(opts: {kubeconfig?: string}): Promise<string[]>
}

export interface Completion {
  candidates: string[]
  directive: number
}

/** Flags whose value is a local file: the shell completes file names. */
const FILE_FLAGS = new Set(['kubeconfig', 'ssh-identity', 'ssh-config', 'ssh-known-hosts', 'agent-cmd'])
/** Flags whose value is a comma-separated list of check IDs. */
const CHECK_ID_FLAGS = new Set(['only', 'ignore'])
const NODE_FLAGS = new Set(['node', 'nodes'])

const byPrefix = (cur: string) => (c: string) => c.startsWith(cur)

function flagByToken(cmd: CommandSpec | undefined, globals: Record<string, FlagSpec>, token: string): FlagSpec | undefined {
  const all = {...globals, ...cmd?.flags}
  if (token.startsWith('--')) {
    const name = token.slice(2).split('=')[0]!
    const negated = name.startsWith('no-') ? all[name.slice(3)] : undefined
    return all[name] ?? (negated?.allowNo ? {...negated, type: 'boolean'} : undefined)
  }
  if (/^-[A-Za-z]$/.test(token.slice(0, 2))) return Object.values(all).find((f) => f.char === token[1])
  return undefined
}

export async function complete(
  words: string[],
  commands: CommandSpec[],
  globals: Record<string, FlagSpec>,
  dynamic: DynamicValues,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Completion> {
  const visible = commands.filter((c) => !c.hidden)
  const ids = visible.map((c) => c.id.split(':'))
  const cur = words.at(-1) ?? ''
  // The words before the cursor as the program will get them (`--kubeconfig ~/k`, `'my dir/k'`, `$HOME/k`); the one
  // under the cursor stays as typed, since the shell matches the candidates against that.
  const before = words.slice(0, -1).map((w) => shellWordValue(w, env))

  // Walk the words before the cursor: command path, flags given, a flag waiting for its value.
  const path: string[] = []
  let cmd: CommandSpec | undefined
  let pending: FlagSpec | undefined
  const given: Record<string, string | true> = {}
  let afterDashDash = false
  for (const w of before) {
    if (afterDashDash) continue
    if (pending) {
      given[pending.name] = w
      pending = undefined
      continue
    }
    if (w === '--') {
      afterDashDash = true
      continue
    }
    if (w.startsWith('-') && w !== '-') {
      const f = flagByToken(cmd, globals, w)
      if (!f) continue
      const inline = w.startsWith('--') ? w.includes('=') : w.length > 2
      if (f.type === 'option' && !inline) pending = f
      else given[f.name] = w.includes('=') ? w.slice(w.indexOf('=') + 1) : true
      continue
    }
    if (!cmd) {
      const next = [...path, w]
      if (ids.some((id) => next.every((seg, i) => id[i] === seg))) {
        path.push(w)
        cmd = visible.find((c) => c.id === path.join(':'))
      }
    }
  }
  const cluster = {kubeconfig: str(given.kubeconfig), context: str(given.context)}

  // A flag's value: `--flag VALUE`, `--flag=VALUE`, `-oVALUE`.
  let valueFlag = pending
  let prefix = ''
  let typed = cur
  if (!valueFlag && cur.startsWith('--') && cur.includes('=')) {
    valueFlag = flagByToken(cmd, globals, cur)
    prefix = cur.slice(0, cur.indexOf('=') + 1)
    typed = cur.slice(prefix.length)
  }
  if (valueFlag) {
    const values = await flagValues(valueFlag, typed, dynamic, cluster)
    return {candidates: values.candidates.map((v) => prefix + v), directive: values.directive}
  }

  if (cur.startsWith('-')) {
    const flags = Object.values({...globals, ...cmd?.flags}).filter((f) => !f.hidden && (f.multiple || !(f.name in given)))
    const names = flags.flatMap((f) => [`--${f.name}`, ...(f.allowNo ? [`--no-${f.name}`] : [])])
    return {candidates: names.filter(byPrefix(cur)).sort(), directive: Directive.NoFileComp}
  }
  if (!cmd) {
    const children = new Set<string>()
    for (const id of ids) if (path.every((seg, i) => id[i] === seg) && id.length > path.length) children.add(id[path.length]!)
    return {candidates: [...children].filter(byPrefix(cur)).sort(), directive: Directive.NoFileComp}
  }
  return {candidates: [], directive: Directive.NoFileComp}
}

const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined)

async function flagValues(
  flag: FlagSpec,
  typed: string,
  dynamic: DynamicValues,
  cluster: {kubeconfig?: string; context?: string},
): Promise<Completion> {
  if (flag.options) return {candidates: flag.options.filter(byPrefix(typed)), directive: Directive.NoFileComp}
  if (FILE_FLAGS.has(flag.name)) return {candidates: [], directive: Directive.Default}
  if (CHECK_ID_FLAGS.has(flag.name)) return commaList(typed, [...(await dynamic.checkIds()), ...(flag.name === 'ignore' ? ['all'] : [])])
  if (flag.name === 'context') {
    const contexts = await dynamic.contexts(cluster)
    return {candidates: contexts.filter(byPrefix(typed)), directive: Directive.NoFileComp}
  }
  if (NODE_FLAGS.has(flag.name)) {
    const nodes = await dynamic.nodeNames(cluster)
    if (flag.name === 'nodes') return commaList(typed, ['all', ...nodes])
    return {candidates: nodes.filter(byPrefix(typed)), directive: Directive.NoFileComp}
  }
  if (flag.name === 'ssh-host') {
    const nodes = await dynamic.nodeNames(cluster)
    return {candidates: nodes.map((n) => `${n}=`).filter(byPrefix(typed)), directive: Directive.NoSpace | Directive.NoFileComp}
  }
  return {candidates: [], directive: Directive.NoFileComp}
}

/** `a,b,c` lists: complete the last element, keep the ones before, offer each value once. */
function commaList(typed: string, values: string[]): Completion {
  const done = typed.split(',')
  const last = done.pop()!
  const head = done.length ? `${done.join(',')},` : ''
  const candidates = values.filter((v) => !done.includes(v) && v.startsWith(last)).map((v) => head + v)
  return {candidates, directive: Directive.NoFileComp}
}

/** The protocol's text: candidates one per line (control characters dropped), then `:N`. */
export function formatCompletion(c: Completion): string {
  // eslint-disable-next-line no-control-regex
  const safe = c.candidates.map((s) => s.replace(/[\u0000-\u001F\u007F-\u009F]/g, '')).filter(Boolean)
  return [...safe, `:${c.directive}`].join('\n') + '\n'
}
