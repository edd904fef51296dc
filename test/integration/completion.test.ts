/**
 * Shell completion: `ebpfctl completion bash|zsh|fish` scripts run in the real shells (bash, zsh, fish), each asking
 * the built CLI's `__complete` engine at "TAB". zsh's compadd only works inside a completion widget, so it is stubbed
 * to print what it is given; bash and fish run their own completion machinery (COMPREPLY, `complete -C`).
 */
import {execFile} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {cli} from '../support/cli.js'
import {type TestCluster, startCluster} from '../support/operator-sim.js'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')
const has = (shell: string) => ['/usr/bin', '/bin', '/usr/local/bin'].some((d) => existsSync(join(d, shell)))

let dir: string
let env: NodeJS.ProcessEnv
let cluster: TestCluster
beforeAll(async () => {
  if (!existsSync(join(root, 'dist/commands/__complete.js'))) throw new Error('run `npm run build` first')
  dir = mkdtempSync(join(tmpdir(), 'ebpfctl-completion-'))
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  // `ebpfctl` on PATH, as an installed package puts it there.
  writeFileSync(join(bin, 'ebpfctl'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, 'bin/run.js'))} "$@"\n`)
  chmodSync(join(bin, 'ebpfctl'), 0o755)
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await cli(['completion', shell])
    expect(r.code, r.stderr).toBe(0)
    writeFileSync(join(dir, `ebpfctl.${shell}`), r.stdout)
  }
  cluster = await startCluster('manifest')
  // A generous cluster deadline: this machine is shared and slow; the 2 s default is tested against a silent server.
  env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    KUBECONFIG: cluster.kubeconfig,
    HOME: dir,
    NO_COLOR: '1',
    EBPFCTL_COMPLETION_TIMEOUT: '30s',
  }
}, 240_000)
afterAll(async () => {
  await cluster?.close()
})

async function bash(line: string): Promise<string[]> {
  const script = `source ${dir}/ebpfctl.bash
COMP_LINE="$1"; COMP_POINT=\${#COMP_LINE}
# bash's own word split (COMP_WORDBREAKS includes = and :)
read -r -a COMP_WORDS <<< "$(printf '%s' "$COMP_LINE" | sed -e 's/=/ = /g')"
[[ "$COMP_LINE" =~ [[:space:]]$ ]] && COMP_WORDS+=("")
COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
complete -p ebpfctl >/dev/null || exit 9
_ebpfctl_complete
printf '%s\\n' "\${COMPREPLY[@]}"`
  const {stdout} = await run('bash', ['-c', script, 'bash', line], {env, timeout: 90_000})
  return stdout.split('\n').filter(Boolean)
}

async function zsh(line: string): Promise<string[]> {
  // No compinit: it scans every completion function on $fpath (seconds per run on a busy machine), and the script
  // registers itself only where compdef exists; the test calls the widget function directly.
  const script = `source ${dir}/ebpfctl.zsh
compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -l -- "$@"; }
_files() { print -- '<files>'; }
words=(\${(z)1}); [[ $1 == *' ' ]] && words+=('')
CURRENT=\${#words}
_ebpfctl`
  const {stdout} = await run('zsh', ['-f', '-c', script, 'zsh', line], {env, timeout: 90_000})
  return stdout.split('\n').filter(Boolean)
}

async function fish(line: string): Promise<string[]> {
  const {stdout} = await run('fish', ['--no-config', '-c', `source ${dir}/ebpfctl.fish; complete -C "$argv[1]"`, line], {
    env,
    timeout: 90_000,
  })
  return stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]!)
}

const shells = {bash, zsh, fish}

describe.each(Object.entries(shells))('completion in %s', (name, complete) => {
  it.runIf(has(name))('commands, topics and subcommands', {timeout: 180_000}, async () => {
    expect(await complete('ebpfctl ')).toEqual(expect.arrayContaining(['check', 'enable', 'revert', 'status', 'nat', 'conntrack', 'version', 'completion']))
    expect(await complete('ebpfctl ')).not.toContain('__complete')
    expect(await complete('ebpfctl nat d')).toEqual(['dump'])
    expect(await complete('ebpfctl sta')).toEqual(['status'])
  })

  it.runIf(has(name))('flags, -o values and check IDs', {timeout: 180_000}, async () => {
    expect(await complete('ebpfctl check --st')).toEqual(['--strict'])
    expect(await complete('ebpfctl status --out')).toEqual(['--output'])
    expect((await complete('ebpfctl check -o ')).sort()).toEqual(['json', 'junit', 'table', 'wide', 'yaml'])
    expect((await complete('ebpfctl nat dump -o ')).sort()).toEqual(['json', 'table', 'wide', 'yaml'])
    expect(await complete('ebpfctl enable --dry-run=s')).toEqual(name === 'bash' ? ['server'] : ['--dry-run=server'])
    expect((await complete('ebpfctl check --only ker')).sort()).toEqual(['kernel', 'kernel-config'])
    expect(await complete('ebpfctl check --ignore kernel,ip-')).toEqual(['kernel,ip-pools'])
  })

  it.runIf(has(name))('node names from the cluster and contexts from the kubeconfig', {timeout: 180_000}, async () => {
    const nodes = cluster.server.store.list('v1', 'Node').map((n: {metadata: {name: string}}) => n.metadata.name)
    expect(nodes.length).toBeGreaterThan(0)
    expect((await complete('ebpfctl nat dump --node ')).sort()).toEqual([...nodes].sort())
    expect((await complete('ebpfctl check --nodes ')).sort()).toEqual(['all', ...nodes].sort())
    expect(await complete('ebpfctl status --context ')).toEqual(['fake'])
  })
})

describe('__complete (the protocol kubectl and the scripts use)', () => {
  it('candidates one per line, then a :N directive; files only where a file is wanted', async () => {
    const r = await cli(['__complete', 'nat', 'd'])
    expect(r).toMatchObject({code: 0, stdout: 'dump\n:4\n'})
    expect((await cli(['__complete', 'check', '--kubeconfig', ''])).stdout).toBe(':0\n')
  })

  it('a cluster that does not answer costs at most ~2 s and gives no candidates', {timeout: 30_000}, async () => {
    const {createServer} = await import('node:net')
    // Accepts, never answers; notes when the CLI connected and when it let go (it closes, or exits).
    let connectedAt: number | undefined
    let releasedAt: number | undefined
    const silent = createServer((socket) => {
      connectedAt ??= Date.now()
      socket.on('error', () => {})
      socket.on('close', () => (releasedAt = Date.now()))
      socket.resume() // read (and drop) what it sends, so its end is seen
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as {port: number}).port
    const kubeconfig = join(dir, 'silent.kubeconfig')
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\n` +
        'users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    )
    const r = await cli(['__complete', 'nat', 'dump', '--kubeconfig', kubeconfig, '--node', ''])
    expect(r.stdout).toBe(':4\n')
    // Timed from the CLI's connection, not its start: its own start-up is seconds on a busy machine.
    expect(connectedAt, 'the CLI never reached the silent server').toBeDefined()
    await vi.waitFor(() => expect(releasedAt).toBeDefined(), {timeout: 10_000}) // the close reaches the server
    silent.close()
    expect(releasedAt! - connectedAt!).toBeLessThan(5000)
  })
})
