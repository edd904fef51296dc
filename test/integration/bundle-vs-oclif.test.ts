/**
 * The bundled CLI (bin/run.js → dist/cli.js: esbuild chunks, the bundle-shims, oclif's lazily loaded packages in
 * dist/chunks/lazy, the edits scripts/bundle.mjs makes to oclif for start-up, and the CommonJS bundle with its code
 * cache that runs the local check and renders help: dist/chunks/check-local.cjs) against the plain build: tsc's
 * output run by the unmodified @oclif/core from node_modules. Same stdout, stderr and exit code for every argv here
 * (help, version, typos, bad flags and values, topics, completion, the local check), so a start-up change that alters
 * behaviour fails here. Needs `npm run build` (the bundle) and compiles a reference copy with tsc.
 */
import {execFile} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

const run = promisify(execFile)
const repo = process.cwd()

const ARGVS: string[][] = [
  [],
  ['--help'],
  ['-h'],
  ['help'],
  ['help', 'check'],
  ['check', '--help'],
  ['nat', '--help'],
  ['nat', 'dump', '--help'],
  ['conntrack'],
  ['enable', '--help'],
  ['--version'],
  ['-v'],
  ['version', '--client'],
  ['check', '--local', '-o', 'json'],
  ['check', '--local', '--only', 'kernel,arch'],
  ['check', '--ouput', 'json'],
  ['check', '-o', 'xml'],
  ['check', '--only', 'kernal'],
  ['check', '--local', 'extra-arg'],
  ['check', '--request-timeout', 'soon', '--local'],
  // bin/run.js takes these to the local check's own bundle (dist/chunks/check-local.cjs).
  ['check', '--local', '-o', 'yaml'],
  ['check', '--local', '-o', 'junit'],
  ['check', '--local', '-o', 'wide', '--strict'],
  ['check', '--local', '--ouput', 'json'],
  ['check', '--local', '-o', 'xml'],
  ['check', '--local', '--only', 'kernal'],
  ['check', '--local', '--nodes', 'all'],
  ['check', '--local', '--no-color', '--ignore', 'all'],
  // bin/run.js takes help (no arguments, or --help before `--`) to that bundle too (runHelp).
  ['--help', 'check'],
  ['--version', '--help'],
  ['check', '-o', 'json', '--help'],
  ['check', '--local', '--help'],
  ['status', '--help'],
  ['version', '--help'],
  ['conntrack', '--help'],
  ['help', '--help'],
  ['nat', '--zzz', '--help'],
  ['check', '--', '--help'],
  ['chek', '--help'],
  ['chek'],
  ['nat', 'dupm'],
  ['frobnicate', '--help'],
  ['status', '--zzzzzzzz'],
  ['completion', 'bash'],
  ['completion', 'tcsh'],
  ['__complete', 'ch'],
  ['__complete', 'check', '--'],
  ['__complete', 'check', '-o', ''],
  ['__complete', 'nat', ''],
]

interface Outcome {
  code: number
  stdout: string
  stderr: string
}

async function outcome(
  file: string,
  args: string[],
  home: string,
  kubeconfig: string | undefined = join(home, 'no-such-kubeconfig'),
  colour: NodeJS.ProcessEnv = {NO_COLOR: '1'},
): Promise<Outcome> {
  // NODE_ENV unset as for a user (vitest sets it to `test`, which turns on oclif's development warnings).
  const env = {...process.env, NODE_ENV: undefined, NO_COLOR: undefined, FORCE_COLOR: undefined, ...colour, HOME: home, KUBECONFIG: kubeconfig}
  try {
    const {stdout, stderr} = await run(process.execPath, [file, ...args], {env, timeout: 60_000})
    return {code: 0, stdout, stderr}
  } catch (err) {
    const e = err as {code?: number; stdout?: string; stderr?: string}
    return {code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? ''}
  }
}

describe('bundled CLI vs the plain tsc build on unmodified oclif', () => {
  let dir: string
  let home: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebpfctl-plain-'))
    home = join(dir, 'home')
    mkdirSync(home)
    await run(join(repo, 'node_modules', '.bin', 'tsc'), ['-p', join(repo, 'tsconfig.json'), '--outDir', join(dir, 'dist')], {
      cwd: repo,
      timeout: 240_000,
    })
    cpSync(join(repo, 'package.json'), join(dir, 'package.json'))
    cpSync(join(repo, 'oclif.manifest.json'), join(dir, 'oclif.manifest.json'))
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'))
    mkdirSync(join(dir, 'bin'))
    // oclif's documented entry, as bin/run.js was before the bundle and its --version short-circuit.
    writeFileSync(
      join(dir, 'bin', 'run.js'),
      "process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'\nconst {execute} = await import('@oclif/core')\nawait execute({dir: import.meta.url})\n",
    )
  }, 300_000)

  afterAll(() => rmSync(dir, {force: true, recursive: true}))

  it.each(ARGVS.map((argv) => [argv.join(' ') || '(no arguments)', argv]))(
    'ebpfctl %s',
    async (_name, argv) => {
      const [bundled, plain] = await Promise.all([
        outcome(join(repo, 'bin', 'run.js'), argv as string[], home),
        outcome(join(dir, 'bin', 'run.js'), argv as string[], home),
      ])
      expect(bundled.stdout).toBe(plain.stdout)
      expect(bundled.stderr).toBe(plain.stderr)
      expect(bundled.code).toBe(plain.code)
    },
    120_000,
  )

  // Colour forced: help's theme asks supports-color (bundled, and loaded on first use) whether both streams take it.
  it.each([[['--help']], [['check', '--help']], [['check', '--local', '--only', 'kernel,arch']], [['chek']]])(
    'ebpfctl %j with FORCE_COLOR=3',
    async (argv) => {
      const colour = {FORCE_COLOR: '3'}
      const [bundled, plain] = await Promise.all([
        outcome(join(repo, 'bin', 'run.js'), argv, home, undefined, colour),
        outcome(join(dir, 'bin', 'run.js'), argv, home, undefined, colour),
      ])
      expect(bundled.stdout).toBe(plain.stdout)
      expect(bundled.stderr).toBe(plain.stderr)
      expect(bundled.code).toBe(plain.code)
    },
    120_000,
  )

  // No KUBECONFIG and no ~/.kube/config: `check` is the local check without --local, run from its own bundle.
  it.each([[['check']], [['check', '-o', 'json']], [['check', '--ouput', 'json']], [['check', '--via', 'ssh']]])(
    'ebpfctl %j without a kubeconfig',
    async (argv) => {
      const [bundled, plain] = await Promise.all([
        outcome(join(repo, 'bin', 'run.js'), argv, home, undefined),
        outcome(join(dir, 'bin', 'run.js'), argv, home, undefined),
      ])
      expect(bundled.stdout).toBe(plain.stdout)
      expect(bundled.stderr).toBe(plain.stderr)
      expect(bundled.code).toBe(plain.code)
    },
    120_000,
  )
})
