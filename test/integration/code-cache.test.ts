/**
 * V8's code cache for the local check's bundle (dist/chunks/check-local.cjs.v8-cache, written by `npm run build`
 * through scripts/code-cache.cjs, read by bin/run.js). The build must leave a cache this Node accepts (else the local
 * check silently loses its start-up gain), and a cache that is damaged, cut short, missing or made for other bytes must
 * give exactly the output and exit code of a good one. Needs `npm run build`; works on a copy of the built package.
 */
import {execFile} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

const run = promisify(execFile)
const repo = process.cwd()
const BUNDLE = join('dist', 'chunks', 'check-local.cjs')
const CACHE = `${BUNDLE}.v8-cache`

interface Outcome {
  code: number
  stdout: string
  stderr: string
}

async function outcome(args: string[], options: {cwd: string; env?: NodeJS.ProcessEnv}): Promise<Outcome> {
  const env = {...process.env, NODE_ENV: undefined, NODE_OPTIONS: undefined, NO_COLOR: '1', KUBECONFIG: '/nonexistent/ebpfctl-kubeconfig', ...options.env}
  try {
    const {stdout, stderr} = await run(process.execPath, args, {cwd: options.cwd, env, timeout: 60_000})
    return {code: 0, stdout, stderr}
  } catch (err) {
    const e = err as {code?: number; stdout?: string; stderr?: string}
    return {code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? ''}
  }
}

/** How bin/run.js (in `dir`) loads the bundle: 'cache' (compiled with the cache, V8 accepted it), 'rejected', 'require'. */
async function howLoaded(dir: string): Promise<string> {
  const script =
    "const {LOCAL_CHECK_BUNDLE, requireBundle} = require('./bin/run.js'); const b = requireBundle(LOCAL_CHECK_BUNDLE);" +
    "process.stdout.write(!b.script ? 'require' : b.cacheRejected ? 'rejected' : 'cache')"
  return (await outcome(['-e', script], {cwd: dir})).stdout
}

describe('the local check bundle has a code cache from the build', () => {
  it('is there and V8 accepts it on this Node', async () => {
    const {CODE_CACHE_HEADER: header} = createRequire(import.meta.url)(join(repo, 'bin', 'run.js')) as {CODE_CACHE_HEADER: string}
    expect(header).toMatch(new RegExp(`^ebpfctl code cache \\d+ v8-${process.versions.v8.replaceAll('.', '\\.')} *\\n$`))
    // V8 reads its data in place only at an 8-byte boundary (the CRC-32 follows the header).
    expect((header.length + 4) % 8).toBe(0)
    expect(readFileSync(join(repo, CACHE)).subarray(0, header.length).toString('latin1')).toBe(header)
    expect(await howLoaded(repo)).toBe('cache')
  })

  it('is not used under --enable-source-maps (require() registers the source map), and the check runs the same', async () => {
    const plain = await outcome(['bin/run.js', 'check', '--local', '-o', 'json'], {cwd: repo})
    const mapped = await outcome(['--enable-source-maps', 'bin/run.js', 'check', '--local', '-o', 'json'], {cwd: repo})
    expect(mapped).toEqual(plain)
  })
})

describe('help is rendered by the CommonJS bundle, not the full CLI', () => {
  it.each([[['--help']], [[]], [['check', '--help']], [['nat', 'dump', '--help']]])('ebpfctl %j: no ES module of ours loads', async (argv) => {
    const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-hook-'))
    try {
      const hooks = join(dir, 'hooks.mjs')
      writeFileSync(hooks, "export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('RESOLVED ' + r.url + '\\n'); return r }\n")
      const register = join(dir, 'register.mjs')
      writeFileSync(register, `import {register} from 'node:module'\nregister(${JSON.stringify('file://' + hooks)})\n`)
      const r = await outcome(['--import', register, 'bin/run.js', ...argv], {cwd: repo})
      expect(r.stdout).toContain('USAGE')
      expect(r.stderr.split('\n').filter((l) => l.startsWith('RESOLVED ') && l.includes('/dist/'))).toEqual([])
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })
})

describe('a bad code cache changes nothing but speed', () => {
  let dir: string
  let good: Buffer

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ebpfctl-code-cache-'))
    for (const path of ['bin', 'dist', 'package.json', 'oclif.manifest.json']) cpSync(join(repo, path), join(dir, path), {recursive: true})
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'))
    mkdirSync(join(dir, 'home'))
    good = readFileSync(join(dir, CACHE))
  })

  afterAll(() => rmSync(dir, {force: true, recursive: true}))

  const ARGVS = [
    ['check', '--local', '-o', 'json'],
    ['check', '--local', '-o', 'yaml'],
    ['check', '--local', '-o', 'xml'],
    ['check', '--local', '--only', 'kernal'],
  ]

  async function outcomes(): Promise<Outcome[]> {
    const all: Outcome[] = []
    for (const argv of ARGVS) all.push(await outcome(['bin/run.js', ...argv], {cwd: dir, env: {HOME: join(dir, 'home')}}))
    return all
  }

  const flipped = (at: number) => {
    const bytes = Buffer.from(good)
    bytes[at] = bytes[at]! ^ 0xff
    return bytes
  }
  const rejectedByV8 = () => {
    const {CODE_CACHE_HEADER, codeCacheBytes} = createRequire(import.meta.url)(join(dir, 'bin', 'run.js')) as {
      CODE_CACHE_HEADER: string
      codeCacheBytes: (source: Buffer, data: Buffer) => Buffer
    }
    const data = Buffer.from(good.subarray(CODE_CACHE_HEADER.length + 4))
    data[12] = data[12]! ^ 0xff
    return codeCacheBytes(readFileSync(join(dir, BUNDLE)), data)
  }
  // A cache V8 itself would take: V8's data from a bundle of the same length but other bytes (V8 checks the length only).
  const otherBundle = () => {
    const source = readFileSync(join(dir, BUNDLE), 'utf8')
    return source.replace('"use strict";', "'use strict';")
  }

  const BAD: [string, () => Buffer | undefined, string][] = [
    ['missing', () => undefined, 'require'],
    ['empty', () => Buffer.alloc(0), 'require'],
    ['cut in half', () => good.subarray(0, good.length >> 1), 'require'],
    ['damaged header', () => flipped(3), 'require'],
    ['for another V8', () => Buffer.from(good.toString('latin1').replace(`v8-${process.versions.v8}`, (v) => v.replace(/\d/, (d) => String((Number(d) + 1) % 10))), 'latin1'), 'require'],
    // A good CRC over V8 data whose own header (magic, version hash, source hash, flag hash…) V8 rejects: V8 compiles.
    ['rejected by V8 (its flag hash changed)', () => rejectedByV8(), 'rejected'],
    // V8 has no checksum of its own (--verify-snapshot-checksum is off in release builds): the CRC catches this.
    ['damaged in the middle of V8 data', () => flipped(good.length >> 1), 'require'],
    ['damaged in the last byte', () => flipped(good.length - 1), 'require'],
  ]

  it('a good cache is used (the baseline below)', async () => {
    expect(await howLoaded(dir)).toBe('cache')
  })

  it.each(BAD)('%s: not used, and the same stdout, stderr and exit codes as with the good cache', async (_name, bytes, how) => {
    writeFileSync(join(dir, CACHE), good)
    const expected = await outcomes()
    const bad = bytes()
    if (bad) writeFileSync(join(dir, CACHE), bad)
    else unlinkSync(join(dir, CACHE))
    try {
      expect(await howLoaded(dir)).toBe(how)
      expect(await outcomes()).toEqual(expected)
    } finally {
      writeFileSync(join(dir, CACHE), good)
    }
  }, 120_000)

  it('made for other bytes of the same length: not used (the CRC covers the bundle), the same outcomes', async () => {
    writeFileSync(join(dir, CACHE), good)
    const expected = await outcomes()
    const original = readFileSync(join(dir, BUNDLE))
    const other = otherBundle()
    expect(Buffer.byteLength(other)).toBe(original.length)
    expect(other).not.toBe(original.toString('utf8'))
    // The cache file stays the one made for the original bytes; the bundle changes under it.
    writeFileSync(join(dir, BUNDLE), other)
    try {
      expect(await howLoaded(dir)).toBe('require')
      expect(await outcomes()).toEqual(expected)
    } finally {
      writeFileSync(join(dir, BUNDLE), original)
    }
  }, 120_000)
})
