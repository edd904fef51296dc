/**
 * What `npm pack` ships is what users run: pack the built package, install the tarball into an empty project (deps
 * from the npm registry or npm's cache), and run it with `npx ebpfctl` (and the kubectl plugin's bin) from there. Catches a bundle that
 * needs something left out of `files`, a dependency only present as a devDependency, or a broken bin.
 */
import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

const run = promisify(execFile)
const repo = process.cwd()

describe('npm pack: the tarball installs into an empty project and runs', () => {
  let dir: string
  let files: string[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebpfctl-pack-'))
    const {stdout} = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {cwd: repo})
    const [packed] = JSON.parse(stdout) as {filename: string; files: {path: string}[]}[]
    files = packed!.files.map((f) => f.path)
    writeFileSync(join(dir, 'package.json'), JSON.stringify({name: 'consumer', version: '1.0.0', private: true}))
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, packed!.filename)], {
      cwd: dir,
      timeout: 240_000,
    })
  }, 300_000)

  afterAll(() => rmSync(dir, {force: true, recursive: true}))

  // npx as a user types it in that project (--no-install: the installed package, never a download).
  const npx = (binName: string, args: string[]) =>
    run('npx', ['--no-install', binName, ...args], {cwd: dir, env: {...process.env, KUBECONFIG: undefined, HOME: dir, NO_COLOR: '1'}})
  const installed = (args: string[]) => npx('ebpfctl', args)

  it('ships the bundle and the manifest, not the sources or the tests', () => {
    expect(files).toContain('bin/run.js')
    expect(files).toContain('dist/cli.js')
    expect(files).toContain('dist/commands/check.js')
    expect(files).toContain('oclif.manifest.json')
    // oclif's lazily loaded packages, in files of their own (`help check` below loads ejs from there).
    expect(files).toContain('dist/chunks/lazy/ejs.cjs')
    // The local check's bundle and V8's code cache for it (bin/run.js).
    expect(files).toContain('dist/chunks/check-local.cjs')
    expect(files).toContain('dist/chunks/check-local.cjs.v8-cache')
    expect(files).toContain('dist/chunks/check-local.cjs.help.v8-cache')
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([])
  })

  // Three cold starts of the installed CLI: generous, as the machine running the suite may be busy.


  it('runs the README first command (local check), help and the kubectl plugin through npx', async () => {
    const check = await installed(['check', '--local', '-o', 'json']).catch((err: {stdout: string; code: number}) => err)
    // The local check may warn or fail on this machine's kernel setup; it must run and print its JSON report.
    expect(JSON.parse(check.stdout).summary).toBeDefined()
    const help = await installed(['help', 'check'])
    expect(help.stdout).toContain('USAGE')
    // Root help comes from the local check's CommonJS bundle (bin/run.js), not the full CLI.
    const rootHelp = await installed(['--help'])
    expect(rootHelp.stdout).toContain('TOPICS')
    const version = await installed(['--version'])
    const pjson = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {version: string}
    expect(version.stdout).toContain(`ebpfctl/${pjson.version}`)
    const plugin = await npx('kubectl-calico_ebpf', ['--help'])
    expect(plugin.stdout).toContain('$ kubectl calico-ebpf [COMMAND]')
  }, 120_000)

  it('the installed local check compiles with the code cache built in the repo (V8 accepts it at its new path)', async () => {
    const script =
      "const {LOCAL_CHECK_BUNDLE, requireBundle} = require('./node_modules/ebpfctl/bin/run.js'); const b = requireBundle(LOCAL_CHECK_BUNDLE);" +
      "process.stdout.write(!b.script ? 'require' : b.cacheRejected ? 'rejected' : 'cache')"
    const {stdout} = await run(process.execPath, ['-e', script], {cwd: dir, env: {...process.env, NODE_OPTIONS: undefined}})
    expect(stdout).toBe('cache')
  }, 60_000)
})
