import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {release, tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {beforeAll, describe, expect, it, vi} from 'vitest'

import {parseKernelConfig, parseMounts, readLocalFacts} from '../../../src/lib/checks/facts.js'
import {runChecks} from '../../../src/lib/checks/index.js'
import type {NodeFacts} from '../../../src/lib/checks/types.js'

vi.setConfig({testTimeout: 120_000})

const ROOT = join(import.meta.dirname, '..', '..', '..')
const BIN = join(ROOT, 'bin', 'run.js')

/** What /proc/self/mounts says is at /sys/fs/bpf right now (the last mount on the path wins). */
function bpffsTypeFromSelfMounts(): string | undefined {
  let type: string | undefined
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mountpoint, fstype] = line.split(' ')
    if (mountpoint === '/sys/fs/bpf') type = fstype
  }
  return type
}

const facts = (over: Partial<NodeFacts>): NodeFacts => ({
  procVersion: 'Linux version 6.8.0-45-generic (buildd@x) (gcc (Ubuntu 13.2.0-23ubuntu4) 13.2.0) #45-Ubuntu SMP',
  unameRv: '6.8.0-45-generic #45-Ubuntu SMP PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024',
  machine: 'x86_64',
  mounts: [{device: 'bpf', mountpoint: '/sys/fs/bpf', type: 'bpf'}, {device: 'cgroup2', mountpoint: '/sys/fs/cgroup', type: 'cgroup2'}],
  bpffsDirExists: true,
  bpffsMounted: true,
  cgroup2Mount: '/sys/fs/cgroup',
  btfVmlinux: true,
  kernelConfig: parseKernelConfig('CONFIG_BPF=y\nCONFIG_BPF_SYSCALL=y\nCONFIG_BPF_JIT=y\nCONFIG_NET_CLS_BPF=m\nCONFIG_NET_SCH_INGRESS=m\nCONFIG_CGROUP_BPF=y\n'),
  calicoMaps: [],
  errors: [],
  ...over,
})
const judge = async (f: NodeFacts, id: string) => (await runChecks({nodeFacts: new Map([['n1', f]])}, {only: [id]})).findings

describe('node checks over NodeFacts', () => {
  it('bpffs: bpf → pass; directory unmounted → warn; sysfs type → warn; missing → fail', async () => {
    expect((await judge(facts({}), 'bpffs'))[0]!.status).toBe('pass')
    expect((await judge(facts({mounts: [], bpffsMounted: false}), 'bpffs'))[0]!.status).toBe('warn')
    const sysfs = await judge(facts({mounts: [{device: 'none', mountpoint: '/sys/fs/bpf', type: 'sysfs'}], bpffsMounted: false}), 'bpffs')
    expect(sysfs[0]!.summary).toContain('type sysfs, not bpf')
    const missing = await judge(facts({mounts: [], bpffsMounted: false, bpffsDirExists: false}), 'bpffs')
    expect(missing[0]!.status).toBe('fail')
    expect(missing[0]!.detail).toContain('type Directory')
  })
  it('cgroup2: mounted → pass; not mounted → warn; unsupported → fail', async () => {
    expect((await judge(facts({}), 'cgroup2'))[0]!.status).toBe('pass')
    expect((await judge(facts({cgroup2Mount: undefined, filesystems: ['cgroup', 'cgroup2']}), 'cgroup2'))[0]!.status).toBe('warn')
    expect((await judge(facts({cgroup2Mount: undefined, filesystems: ['cgroup']}), 'cgroup2'))[0]!.status).toBe('fail')
  })
  it('btf: present → pass; missing → warn', async () => {
    expect((await judge(facts({}), 'btf'))[0]!.status).toBe('pass')
    expect((await judge(facts({btfVmlinux: false}), 'btf'))[0]!.status).toBe('warn')
  })
  it('kernel-config: unreadable → warn; "is not set" → fail; modules are fine', async () => {
    expect((await judge(facts({}), 'kernel-config'))[0]).toMatchObject({status: 'pass', summary: expect.stringContaining('as modules')})
    expect((await judge(facts({kernelConfig: undefined}), 'kernel-config'))[0]!.status).toBe('warn')
    const off = parseKernelConfig('CONFIG_BPF=y\nCONFIG_BPF_SYSCALL=y\n# CONFIG_BPF_JIT is not set\nCONFIG_NET_CLS_BPF=n\nCONFIG_NET_SCH_INGRESS=m\nCONFIG_CGROUP_BPF=y\n')
    const f = (await judge(facts({kernelConfig: off}), 'kernel-config'))[0]!
    expect(f.status).toBe('fail')
    expect(f.summary).toContain('CONFIG_BPF_JIT, CONFIG_NET_CLS_BPF are not set')
  })
  it('calico-maps: pinned → pass; none → skip', async () => {
    expect((await judge(facts({calicoMaps: ['cali_v4_nat_fe3', 'cali_v4_ct4']}), 'calico-maps'))[0]!.status).toBe('pass')
    expect((await judge(facts({}), 'calico-maps'))[0]!.status).toBe('skip')
  })
  it('kernel shows uname -rv and judges /proc/version exactly', async () => {
    const f = (await judge(facts({}), 'kernel'))[0]!
    expect(f.summary).toContain('uname -rv: 6.8.0-45-generic #45-Ubuntu')
    expect(f.data?.inferred).toBe(false)
  })
  it('parses mounts with octal escapes', () => {
    expect(parseMounts('bpf /sys/fs/bpf bpf rw 0 0\n/dev/sda1 /mnt/with\\040space ext4 rw 0 0\n')).toEqual([
      {device: 'bpf', mountpoint: '/sys/fs/bpf', type: 'bpf', options: 'rw'},
      {device: '/dev/sda1', mountpoint: '/mnt/with space', type: 'ext4', options: 'rw'},
    ])
  })
})

describe('readLocalFacts on this machine', () => {
  it('reads the real files', async () => {
    const f = await readLocalFacts()
    expect(f.procVersion).toBe(readFileSync('/proc/version', 'utf8').trim())
    const {stdout} = await execa('uname', ['-rv'])
    expect(f.unameRv).toBe(stdout.trim())
    expect(f.bpffsMounted).toBe(bpffsTypeFromSelfMounts() === 'bpf')
    expect(f.bpffsDirExists).toBe(existsSync('/sys/fs/bpf'))
    expect(f.btfVmlinux).toBe(existsSync('/sys/kernel/btf/vmlinux'))
    if (existsSync('/proc/config.gz')) expect(f.kernelConfigSource).toBe('/proc/config.gz')
    expect(f.machine).toBe((await execa('uname', ['-m'])).stdout.trim())
  })
  it('keeps only the eBPF options of the kernel config (what the node probe greps), read the same way', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ebpfctl-kconfig-'))
    try {
      mkdirSync(join(root, 'boot'))
      const filler = Array.from({length: 5000}, (_, i) => (i % 3 ? `CONFIG_OPTION_${i}=y` : `# CONFIG_OPTION_${i} is not set`))
      const config = [
        '#',
        '# Automatically generated file; DO NOT EDIT.',
        'CONFIG_BPF=y',
        ...filler,
        'CONFIG_BPF_SYSCALL=y',
        '# CONFIG_BPF_JIT is not set',
        'CONFIG_BPF_JIT_DEFAULT_ON_NOT=m',
        'CONFIG_NET_CLS_BPF=m',
        'CONFIG_NET_SCH_INGRESS="m"',
        'CONFIG_CGROUP_BPFX=y',
        ' CONFIG_CGROUP_BPF=n',
        'CONFIG_CGROUP_BPF=y',
        'CONFIG_DEBUG_INFO_BTF=y',
      ].join('\n')
      writeFileSync(join(root, 'boot', `config-${release()}`), config + '\n')
      vi.stubEnv('EBPFCTL_HOST_ROOT', root)
      const f = await readLocalFacts()
      expect(f.kernelConfigSource).toBe(`/boot/config-${release()}`)
      expect(f.kernelConfig).toEqual({
        CONFIG_BPF: 'y',
        CONFIG_BPF_SYSCALL: 'y',
        CONFIG_BPF_JIT: 'n',
        CONFIG_BPF_JIT_DEFAULT_ON_NOT: 'm',
        CONFIG_NET_CLS_BPF: 'm',
        CONFIG_NET_SCH_INGRESS: 'm',
        CONFIG_CGROUP_BPF: 'y',
      })
    } finally {
      vi.unstubAllEnvs()
      rmSync(root, {recursive: true, force: true})
    }
  })
})

describe('ebpfctl check (local, built CLI as a child process)', () => {
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'commands', 'check.js'))) throw new Error('run npm run build first')
  })
  it("prints this machine's uname -rv and bpffs state, and a summary line", async () => {
    const r = await execa('node', [BIN, 'check'], {reject: false, cwd: ROOT})
    const {stdout: unameRv} = await execa('uname', ['-rv'])
    expect(r.stdout).toContain(`uname -rv: ${unameRv.trim()}`)
    const type = bpffsTypeFromSelfMounts()
    if (type === 'bpf') expect(r.stdout).toContain('/sys/fs/bpf is mounted, type bpf')
    else if (type) expect(r.stdout).toContain(`/sys/fs/bpf is mounted as type ${type}, not bpf`)
    else if (existsSync('/sys/fs/bpf')) expect(r.stdout).toContain('/sys/fs/bpf is a directory, but no bpf filesystem is mounted there')
    else expect(r.stdout).toContain('/sys/fs/bpf does not exist')
    expect(r.stdout).toMatch(/\n\d+ passed, \d+ warnings, \d+ failed/)
    expect(r.stdout).not.toContain('\u001B[') // not a TTY, NO_COLOR set
    expect([0, 1]).toContain(r.exitCode)
    expect(r.exitCode).toBe(/ 0 failed/.test(r.stdout) ? 0 : 1)
  })
  it('-o json follows the schema', async () => {
    const r = await execa('node', [BIN, 'check', '--local', '-o', 'json'], {reject: false, cwd: ROOT})
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({apiVersion: 'ebpfctl/v1', kind: 'CheckReport', ebpfctlVersion: '0.1.0', target: {mode: 'local'}, calico: null})
    expect(report.checks.map((c: {id: string}) => c.id)).toEqual(['kernel', 'arch', 'bpffs', 'cgroup2', 'btf', 'kernel-config', 'calico-maps'])
    expect(report.nodes).toHaveLength(1)
    const kernel = report.nodes[0].findings.find((f: {checkId: string}) => f.checkId === 'kernel')
    expect(kernel.summary).toContain((await execa('uname', ['-rv'])).stdout.trim())
    expect(Object.keys(report.summary)).toEqual(['passed', 'warnings', 'failed', 'skipped'])
  })
  it('-o junit has a testcase per finding', async () => {
    const r = await execa('node', [BIN, 'check', '--local', '-o', 'junit'], {reject: false, cwd: ROOT})
    expect(r.stdout).toMatch(/^<\?xml version="1.0"/)
    expect(r.stdout.match(/<testcase /g)).toHaveLength(7)
    expect(r.stdout).toContain('<testsuite name="kernel"')
  })
  it('--only with an unknown ID is a usage error (exit 2) listing the valid IDs', async () => {
    const r = await execa('node', [BIN, 'check', '--only', 'kernel,nope'], {reject: false, cwd: ROOT})
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error: unknown check ID for --only: nope')
    expect(r.stderr).toContain('Valid IDs: node-access, kernel, arch')
  })
  it('--only with a mistyped ID suggests the closest one', async () => {
    const one = await execa('node', [BIN, 'check', '--local', '--only', 'kernal'], {reject: false, cwd: ROOT})
    expect(one.exitCode).toBe(2)
    expect(one.stderr).toContain('Error: unknown check ID for --only: kernal; did you mean "kernel"?\n')
    const two = await execa('node', [BIN, 'check', '--local', '--ignore', 'kernal,xyzzy-plugh,al'], {reject: false, cwd: ROOT})
    expect(two.exitCode).toBe(2)
    expect(two.stderr).toContain('Error: unknown check IDs for --ignore: kernal (did you mean "kernel"?), xyzzy-plugh, al (did you mean "all"?)\n')
  })
  it('--strict turns warnings into exit 1; --ignore keeps failures visible', async () => {
    const plain = await execa('node', [BIN, 'check', '--local', '-o', 'json'], {reject: false, cwd: ROOT})
    const summary = JSON.parse(plain.stdout).summary
    const strict = await execa('node', [BIN, 'check', '--local', '--strict'], {reject: false, cwd: ROOT})
    expect(strict.exitCode).toBe(summary.failed + summary.warnings > 0 ? 1 : 0)
    const ignored = await execa('node', [BIN, 'check', '--local', '--ignore', 'all', '-o', 'json'], {reject: false, cwd: ROOT})
    expect(ignored.exitCode).toBe(0)
    expect(JSON.parse(ignored.stdout).summary.failed).toBe(0)
  })
  it('a bad output format is exit 2', async () => {
    const r = await execa('node', [BIN, 'check', '-o', 'xml'], {reject: false, cwd: ROOT})
    expect(r.exitCode).toBe(2)
  })
})

describe("hasKubeconfig: kubectl's lookup", () => {
  it.each([
    // A named kubeconfig means "a cluster": when it is missing, connect() fails (exit 2), never a local check.
    [undefined, {KUBECONFIG: '/nonexistent/a:/nonexistent/b'}, true],
    [undefined, {KUBECONFIG: `/nonexistent/a:${BIN}`}, true],
    [undefined, {KUBECONFIG: '', HOME: '/nonexistent'}, false],
    [undefined, {HOME: '/nonexistent'}, false],
    ['/nonexistent/explicit', {}, true],
  ])('--kubeconfig %s, env %j → %s', async (flag, env, expected) => {
    const {hasKubeconfig} = await import('../../../src/lib/kube/kubeconfig-path.js')
    expect(hasKubeconfig(flag, env)).toBe(expected)
  })
})

describe('a kubeconfig that names a missing file', () => {
  it.each([
    [['check'], {KUBECONFIG: '/nonexistent/ebpfctl-kubeconfig'}],
    [['check', '--kubeconfig', '/nonexistent/ebpfctl-kubeconfig'], {}],
    [['status'], {KUBECONFIG: '/nonexistent/a:/nonexistent/b'}],
    [['nat', 'dump'], {KUBECONFIG: '/nonexistent/ebpfctl-kubeconfig'}],
  ])('%j with %j is exit 2 naming it, never a local check', async (args, env) => {
    const r = await execa('node', [BIN, ...args], {reject: false, cwd: ROOT, env})
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/nonexistent/)
    expect(r.stdout).toBe('')
  })
  it('--local still checks this machine', async () => {
    const r = await execa('node', [BIN, 'check', '--local', '-o', 'json'], {reject: false, cwd: ROOT, env: {KUBECONFIG: '/nonexistent/x'}})
    expect(JSON.parse(r.stdout).target.mode).toBe('local')
  })
})

describe('start-up: the local check loads nothing heavy', () => {
  it('runs from its one CommonJS bundle: no ES module of ours, never the kube client, @kubernetes/client-node, yaml or ajv', async () => {
    const {mkdtempSync, writeFileSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-hook-'))
    const hooks = join(dir, 'hooks.mjs')
    writeFileSync(hooks, `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('RESOLVED ' + r.url + '\\n'); return r }\n`)
    const register = join(dir, 'register.mjs')
    writeFileSync(register, `import {register} from 'node:module'\nregister(${JSON.stringify('file://' + hooks)})\n`)
    // Every file require() loads (built-ins have no path and are left out).
    const track = join(dir, 'track.cjs')
    writeFileSync(
      track,
      "const M = require('node:module'); const load = M._load; M._load = function (request, parent, isMain) { " +
        "const path = M._resolveFilename(request, parent, isMain); if (path.startsWith('/')) process.stderr.write('REQUIRED ' + path + '\\n'); " +
        'return load.apply(this, arguments) }\n' +
        // bin/run.js compiles the bundle itself when it has the bundle's code cache: it is in require.cache all the same.
        "process.on('exit', () => { for (const path of Object.keys(M._cache)) process.stderr.write('LOADED ' + path + '\\n') })\n",
    )
    const env = {...process.env, KUBECONFIG: undefined, HOME: dir}
    const r = await execa('node', ['--import', register, '--require', track, BIN, 'check', '-o', 'json'], {reject: false, cwd: ROOT, env})
    const lines = (tag: string) => r.stderr.split('\n').filter((l) => l.startsWith(tag)).map((l) => l.slice(tag.length))
    const resolved = lines('RESOLVED ')
    const required = lines('REQUIRED ')
    expect(lines('LOADED ')).toContain(join(ROOT, 'dist', 'chunks', 'check-local.cjs'))
    expect(resolved.filter((u) => u.includes('/dist/'))).toEqual([])
    const heavy = /\/dist\/lib\/kube\/|@kubernetes\/client-node|\/node_modules\/(yaml|ajv|ssh2)\//
    expect([...resolved, ...required].filter((u) => heavy.test(u))).toEqual([])
    expect(JSON.parse(r.stdout).target.mode).toBe('local')
  })
})

describe("the local check's bundle hands anything else back (dist/chunks/check-local.cjs)", () => {
  const runBundle = (argv: string[]) =>
    execa(
      'node',
      ['-e', `require('./dist/chunks/check-local.cjs').runLocalCheck(${JSON.stringify(argv)}, process.cwd()).then((done) => console.log('done', done))`],
      {reject: false, cwd: ROOT, env: {...process.env, KUBECONFIG: undefined, HOME: tmpdir(), NO_COLOR: '1'}},
    )
  it.each([
    [['--kubeconfig', '/nonexistent/ebpfctl-kubeconfig']],
    [['--context', 'prod']],
    [['--nodes', 'a,b', '--via', 'ssh']],
    [['--nodes', 'all']],
  ])('%j: does nothing and returns false, for the full CLI to run it', async (argv) => {
    const r = await runBundle(argv)
    expect({stdout: r.stdout, stderr: r.stderr, code: r.exitCode}).toEqual({stdout: 'done false', stderr: '', code: 0})
  })
  it('stays small: a new import on the local path that pulls a package or the cluster code in shows here', async () => {
    const {statSync} = await import('node:fs')
    // ~320 KB today, 234 KB of it oclif; scripts/bundle.mjs (CLUSTER_ONLY) says how to keep cluster-only code out.
    expect(statSync(join(ROOT, 'dist', 'chunks', 'check-local.cjs')).size).toBeLessThan(400_000)
  })
  it('runs a check of this machine itself', async () => {
    const r = await runBundle(['--local', '-o', 'json'])
    expect(r.stdout).toMatch(/\ndone true$/)
    expect(JSON.parse(r.stdout.replace(/\ndone true$/, '')).target.mode).toBe('local')
  })
})
