/**
 * Shell completion at a real TAB: interactive zsh (compinit), bash (bare, and with the bash-completion package) and
 * fish on a pseudo-terminal (test/support/pty), each loading `ebpfctl completion <shell>` the way the README says, then
 * typing a line and pressing TAB; and `kubectl calico-ebpf` through kubectl's own bash and zsh completion. A key
 * binding (Ctrl-X Ctrl-B) prints the edited line between markers and clears it, so each case reads what the shell
 * made of the line, not a picture of the screen; listings (ambiguous TABs) are read from the screen's text.
 * completion.test.ts covers the same engine by calling the scripts' functions non-interactively.
 * Node names come from a fake API server through a kubeconfig written here; the ambient one is never seen (the shells
 * get an environment built from nothing, HOME a temp dir).
 */
import {chmodSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase} from '../support/fake-apiserver/scenarios.js'
import {Pty} from '../support/pty/index.js'
import {kubectlTitle, realKubectl} from '../support/kubectl.js'

const root = join(import.meta.dirname, '..', '..')
const has = (program: string) => ['/usr/bin', '/bin', '/usr/local/bin'].some((d) => existsSync(join(d, program)))
const bashCompletion = '/usr/share/bash-completion/bash_completion'
const NODES = ['worker-alpha', 'worker-beta', 'control-plane']

let dir: string
let env: NodeJS.ProcessEnv
let server: FakeApiServer
beforeAll(async () => {
  if (!existsSync(join(root, 'dist/commands/__complete.js'))) throw new Error('run `npm run build` first')
  dir = mkdtempSync(join(tmpdir(), 'ebpfctl-tab-'))
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  // `ebpfctl` on PATH, as an installed package puts it there.
  writeFileSync(join(bin, 'ebpfctl'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, 'bin/run.js'))} "$@"\n`)
  chmodSync(join(bin, 'ebpfctl'), 0o755)
  server = await startFakeApiServer()
  seedKubeadmBase(server.store, {nodes: NODES.map((name) => ({name, controlPlane: name === 'control-plane'}))})
  const kubeconfig = server.writeKubeconfig(join(dir, 'kube'), {context: 'tab-context'})
  // A second kubeconfig, named on the command line the ways users type a path: ~, a blank, quotes, $HOME.
  server.writeKubeconfig(join(dir, 'my kube'), {context: 'other-context'})

  const zdotdir = join(dir, 'zdotdir')
  mkdirSync(zdotdir)
  writeFileSync(
    join(zdotdir, '.zshrc'),
    [
      'autoload -U compinit && compinit -u -d "$ZDOTDIR/.zcompdump"',
      "PS1='tab> '",
      'unsetopt PROMPT_SP',
      // zle -M, not print: printing from a widget needs `zle -I`, which hands the terminal back to cooked mode.
      '__tab_line() { zle -M "@@LINE[$BUFFER]@@"; BUFFER= }',
      'zle -N __tab_line',
      "bindkey '^X^B' __tab_line",
    ].join('\n') + '\n',
  )
  writeFileSync(join(dir, 'inputrc'), 'set bell-style none\nset completion-query-items 0\nset page-completions off\n')
  env = {
    PATH: `${bin}:${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: dir,
    TERM: 'xterm',
    LANG: 'C.UTF-8',
    KUBECONFIG: kubeconfig,
    NO_COLOR: '1',
    // A generous cluster deadline: this machine is shared and slow; completion.test.ts tests the 2 s default.
    EBPFCTL_COMPLETION_TIMEOUT: '30s',
    ZDOTDIR: zdotdir,
    INPUTRC: join(dir, 'inputrc'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CACHE_HOME: join(dir, 'cache'),
  }
}, 120_000)
afterAll(async () => {
  await server?.close()
})

let shell: Pty | undefined
afterEach(async () => {
  await shell?.close()
  shell = undefined
})

/** What each shell needs to start, load the completion and bind Ctrl-X Ctrl-B to "print the line, then clear it". */
const shells = {
  zsh: {
    command: ['zsh', '--no-globalrcs', '-i'],
    setup: 'source <(ebpfctl completion zsh)',
    available: has('zsh'),
    redrawsPrompt: false,
    listingKeys: '\t',
  },
  bash: {
    command: ['bash', '--norc', '--noprofile', '-i'],
    setup: `PS1='tab> '; source <(ebpfctl completion bash); bind -x '"\\C-x\\C-b": printf "@@%s[%s]@@\\n" LINE "$READLINE_LINE"; READLINE_LINE='`,
    available: has('bash'),
    redrawsPrompt: true,
    listingKeys: '\t\t',
  },
  // As most users have it: the bash-completion package loaded first (its own handling of '=' and ':' and of files).
  'bash with bash-completion': {
    command: ['bash', '--norc', '--noprofile', '-i'],
    setup: `PS1='tab> '; source ${bashCompletion}; source <(ebpfctl completion bash); bind -x '"\\C-x\\C-b": printf "@@%s[%s]@@\\n" LINE "$READLINE_LINE"; READLINE_LINE='`,
    available: has('bash') && existsSync(bashCompletion),
    redrawsPrompt: true,
    listingKeys: '\t\t',
  },
  fish: {
    command: ['fish', '--no-config', '-i'],
    setup: `function fish_prompt; echo -n 'tab> '; end; bind \\cx\\cb 'printf "\\n@@%s[%s]@@\\n" LINE (commandline); commandline ""'; ebpfctl completion fish | source`,
    available: has('fish'),
    redrawsPrompt: false,
    listingKeys: '\t',
  },
} as const

/** Starts the shell, types its setup line and waits for its prompt after a marker the setup prints. */
async function start(command: readonly string[], setup: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Pty> {
  shell = new Pty(command[0]!, command.slice(1), {env: {...env, ...extraEnv}, cwd: dir, deadlineMs: 300_000})
  // The marker is typed as '@@%s@@' READY, so only its output (not the echo of the typed line) matches.
  shell.send(`${setup}; printf '@@%s@@\\n' READY\r`)
  await shell.waitFor(/@@READY@@\n[^]*?tab> /)
  return shell
}

/**
 * Types `keys` (TABs included) on an empty line, then Ctrl-X Ctrl-B: the line as the shell left it, and the screen's
 * text in between (a listing shows there).
 */
async function typeLine(pty: Pty, keys: string, redrawsPrompt: boolean): Promise<{line: string; screen: string}> {
  const from = pty.mark()
  pty.send(`${keys}\x18\x02`)
  const m = await pty.waitFor(/@@LINE\[(.*?)\]@@/, {from})
  const screen = pty.text.slice(from, from + m.index)
  // bash prints its prompt again after a `bind -x` command: the next keys wait for it, so that readline reads them.
  if (redrawsPrompt) await pty.waitFor(/tab> /, {from: from + m.index + m[0].length})
  return {line: m[1]!, screen}
}

/** The words of a completion listing, in the order shown. */
const listed = (words: string[]) => new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s+'))

describe.each(Object.entries(shells))('TAB in interactive %s', (_name, {command, setup, available, redrawsPrompt, listingKeys}) => {
  it.runIf(available)('completes commands, flags, -o values, check IDs and node names', {timeout: 300_000}, async () => {
    const pty = await start(command, setup)
    const type = (keys: string) => typeLine(pty, keys, redrawsPrompt)

    expect((await type('ebpfctl nat d\t')).line).toBe('ebpfctl nat dump ')
    expect((await type('ebpfctl sta\t')).line).toBe('ebpfctl status ')
    expect((await type('ebpfctl check --outp\t')).line).toBe('ebpfctl check --output ')
    expect((await type('ebpfctl check -o ya\t')).line).toBe('ebpfctl check -o yaml ')
    expect((await type('ebpfctl enable --dry-run=s\t')).line).toBe('ebpfctl enable --dry-run=server ')
    expect((await type('ebpfctl check --only kernel-c\t')).line).toBe('ebpfctl check --only kernel-config ')
    expect((await type('ebpfctl check --ignore kernel,ip-\t')).line).toBe('ebpfctl check --ignore kernel,ip-pools ')
    expect((await type('ebpfctl nat dump --node worker-a\t')).line).toBe('ebpfctl nat dump --node worker-alpha ')
    expect((await type('ebpfctl status --context tab\t')).line).toBe('ebpfctl status --context tab-context ')
    // --kubeconfig as typed: the shell has not expanded it yet when TAB is pressed (read without running anything).
    for (const path of ['~/my\\ kube/kubeconfig', '"$HOME/my kube/kubeconfig"', "'" + join(dir, 'my kube', 'kubeconfig') + "'"])
      expect((await type(`ebpfctl status --kubeconfig ${path} --context oth\t`)).line).toBe(
        `ebpfctl status --kubeconfig ${path} --context other-context `,
      )

    // A file name where one is wanted: the shell's own file completion (a blank quoted, ~, a '/' after a directory,
    // after the '=' of --kubeconfig=). The shells start in the temp dir, where `kube/` and `my kube/` are.
    expect((await type('ebpfctl check --kubeconfig my\t')).line).toBe('ebpfctl check --kubeconfig my\\ kube/')
    expect((await type('ebpfctl check --kubeconfig my\\ kube/ku\t')).line).toBe('ebpfctl check --kubeconfig my\\ kube/kubeconfig ')
    expect((await type('ebpfctl check --kubeconfig ~/ku\t')).line).toBe('ebpfctl check --kubeconfig ~/kube/')
    expect((await type('ebpfctl check --kubeconfig=ku\t')).line).toBe('ebpfctl check --kubeconfig=kube/')

    // Ambiguous: the choices are listed (zsh and fish at the first TAB, bash at the second), the line kept; a TAB
    // that can insert a common part does that first.
    const flags = await type(`ebpfctl check --o${listingKeys}`)
    expect(flags.line).toBe('ebpfctl check --o')
    expect(flags.screen).toMatch(listed(['--only', '--output']))
    const values = await type(`ebpfctl check -o ${listingKeys}`)
    expect(values.line).toBe('ebpfctl check -o ')
    expect(values.screen).toMatch(listed(['json', 'junit', 'table', 'wide', 'yaml']))
    expect((await type('ebpfctl nat dump --node w\t')).line).toBe('ebpfctl nat dump --node worker-')
    const nodes = await type(`ebpfctl nat dump --node worker-${listingKeys}`)
    expect(nodes.line).toBe('ebpfctl nat dump --node worker-')
    expect(nodes.screen).toMatch(listed(['worker-alpha', 'worker-beta']))
  })
})

const kubectl = await realKubectl()

/** A PATH dir with the package's kubectl plugin bins (links named after package.json "bin", as npm makes) and kubectl. */
function kubectlBin(): string {
  const bin = join(dir, 'kubectl-bin')
  mkdirSync(bin, {recursive: true})
  for (const name of ['kubectl-calico_ebpf', 'kubectl_complete-calico_ebpf'])
    if (!existsSync(join(bin, name))) symlinkSync(join(root, 'bin', `${name}.js`), join(bin, name))
  if (!existsSync(join(bin, 'kubectl'))) symlinkSync(kubectl!.path, join(bin, 'kubectl'))
  return bin
}

describe.runIf(kubectl)(`TAB after \`kubectl calico-ebpf\` (kubectl's own completion asks kubectl_complete-calico_ebpf; ${kubectlTitle(kubectl)})`, () => {
  it.runIf(has('bash') && existsSync(bashCompletion))('kubectl completion bash', {timeout: 300_000}, async () => {
    const pty = await start(
      ['bash', '--norc', '--noprofile', '-i'],
      // kubectl's bash script needs the bash-completion package, as on a user's machine.
      shells.bash.setup.replace('source <(ebpfctl completion bash)', `source ${bashCompletion}; source <(kubectl completion bash)`),
      {PATH: `${kubectlBin()}:${env.PATH}`},
    )
    const type = (keys: string) => typeLine(pty, keys, true)

    expect((await type('kubectl calico-e\t')).line).toBe('kubectl calico-ebpf ')
    expect((await type('kubectl calico-ebpf nat d\t')).line).toBe('kubectl calico-ebpf nat dump ')
    expect((await type('kubectl calico-ebpf check -o ya\t')).line).toBe('kubectl calico-ebpf check -o yaml ')
    const top = await type('kubectl calico-ebpf \t\t')
    expect(top.line).toBe('kubectl calico-ebpf ')
    expect(top.screen).toMatch(listed(['check', 'completion', 'conntrack']))
    expect((await type('kubectl calico-ebpf nat dump --node w\t')).line).toBe('kubectl calico-ebpf nat dump --node worker-')
    const nodes = await type('kubectl calico-ebpf nat dump --node worker-\t\t')
    expect(nodes.line).toBe('kubectl calico-ebpf nat dump --node worker-')
    expect(nodes.screen).toMatch(listed(['worker-alpha', 'worker-beta']))
  })

  it.runIf(has('zsh'))('kubectl completion zsh', {timeout: 300_000}, async () => {
    const pty = await start(['zsh', '--no-globalrcs', '-i'], 'source <(kubectl completion zsh)', {PATH: `${kubectlBin()}:${env.PATH}`})
    const type = (keys: string) => typeLine(pty, keys, false)

    expect((await type('kubectl calico-ebpf nat d\t')).line).toBe('kubectl calico-ebpf nat dump ')
    expect((await type('kubectl calico-ebpf check --only kernel-c\t')).line).toBe('kubectl calico-ebpf check --only kernel-config ')
    expect((await type('kubectl calico-ebpf nat dump --node worker-a\t')).line).toBe('kubectl calico-ebpf nat dump --node worker-alpha ')
    const values = await type('kubectl calico-ebpf check -o \t')
    expect(values.line).toBe('kubectl calico-ebpf check -o ')
    expect(values.screen).toMatch(listed(['json', 'junit', 'table', 'wide', 'yaml']))
  })
})
