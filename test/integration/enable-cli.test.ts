/** A few runs of the built CLI (`node bin/run.js`, needs `npm run build`) for exit codes and the streams used. */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase} from '../support/fake-apiserver/scenarios.js'
import {type TestCluster, startCluster, touchedFields} from '../support/operator-sim.js'
import {cli} from '../support/cli.js'

const FAST = ['--poll-interval', '10ms', '--retry-delay', '10ms', '--timeout', '20s']


let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

beforeAll(() => {
  if (!existsSync('dist/commands/enable.js'))
    throw new Error('run `npm run build` first (these tests run the built CLI)')
})

describe('ebpfctl enable/revert as a child process', () => {
  it('--dry-run: exit 0, plan on stdout, no writes', {timeout: 60_000}, async () => {
    cluster = await startCluster('manifest')
    const r = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run', '--dsr'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('1. API-server address 172.18.0.2:6443')
    expect(r.stdout).toContain('AWS: disable the source/destination check')
    expect(r.stdout).toContain('Dry run: nothing was changed.')
    expect(cluster.server.writes()).toEqual([])
  })

  it(
    'a node that falls back: exit 1, says what failed and that the cluster was restored',
    {timeout: 120_000},
    async () => {
      cluster = await startCluster('operator', {
        nodes: [
          {name: 'cp', controlPlane: true},
          {name: 'old-1', bpfSupported: false},
        ],
      })
      const refused = await cli(['enable', '--kubeconfig', cluster.kubeconfig, ...FAST])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(/preflight failed[\s\S]*kernel/)
      expect(cluster.server.writes()).toEqual([])
      // A dry run of a run that would be refused fails too (CI must not pass it), listing why.
      const dry = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run', ...FAST])
      expect(dry.code).toBe(1)
      expect(dry.stdout).toMatch(/preflight failure \(enable would refuse\): kernel/)
      expect(cluster.server.writes()).toEqual([])
      // --ignore demotes the named failures, like check --ignore (a typo is exit 2); --force is not the only way.
      const typo = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--ignore', 'kernal', ...FAST])
      expect(typo.code).toBe(2)
      const ids = [...new Set([...refused.stderr.matchAll(/^\s+- ([a-z-]+)/gm)].map((m) => m[1]!))]
      expect(ids).toContain('kernel')
      const ignoredDry = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run', '--ignore', ids.join(','), ...FAST])
      expect(ignoredDry.code, ignoredDry.stdout).toBe(0)
      expect(ignoredDry.stdout).toMatch(/ignored preflight failure \(--ignore\): kernel/)
      const ignored = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--ignore', ids.join(','), ...FAST])
      expect(ignored.stderr).not.toMatch(/preflight failed/)
      expect(ignored.stderr).toMatch(/Error: step "verify BPF is active on every node".*old-1.*the cluster was restored/)
      const r = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--force', ...FAST])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/Error: step "verify BPF is active on every node".*old-1.*the cluster was restored/)
      // Plain timestamped progress lines when stderr is not a TTY.
      expect(r.stderr).toMatch(/^\[\d\d:\d\d:\d\d\] /m)
    },
  )

  it('enable then revert: exit 0 both', {timeout: 60_000}, async () => {
    cluster = await startCluster('manifest')
    const e = await cli(['enable', '--kubeconfig', cluster.kubeconfig, ...FAST])
    expect(e.code, e.stderr).toBe(0)
    expect(e.stdout).toContain('eBPF dataplane enabled')
    // A short summary of what changed, not the whole plan again.
    expect(e.stdout).toMatch(/^Changed:\n/m)
    expect(e.stdout).toMatch(/^  felixconfigurations\S* default: spec\.bpfEnabled: \(absent\) → true$/m)
    expect(e.stdout).not.toContain('1. API-server address')
    const again = await cli(['enable', '--kubeconfig', cluster.kubeconfig, ...FAST])
    expect(again.stdout).toContain('Already enabled: nothing to do.')
    const r = await cli(['revert', '--kubeconfig', cluster.kubeconfig, ...FAST])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('Reverted')
    expect(r.stdout).toMatch(/^Changed:\n/m)
    expect(r.stdout).not.toContain('Revert plan')
    expect(r.stderr).toContain('disrupts')
  })

  it('no Calico: exit 2 with a remedy', {timeout: 60_000}, async () => {
    const server = await startFakeApiServer()
    try {
      seedKubeadmBase(server.store, {nodes: 2})
      const kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-cli-')))
      const r = await cli(['enable', '--kubeconfig', kubeconfig, '--force', ...FAST])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('no Calico installation found')
      expect(server.writes()).toEqual([])
    } finally {
      await server.close()
    }
  })

  it('Ctrl-C (SIGINT) during a wait rolls back and exits 1', {timeout: 60_000}, async () => {
    cluster = await startCluster('manifest')
    const before = touchedFields(cluster.server.store, cluster.calicoNamespace)
    cluster.server.setPodLogs(() => 'Felix starting up (never decides)\n')
    const child = spawn(process.execPath, ['bin/run.js', 'enable', '--kubeconfig', cluster.kubeconfig, ...FAST], {
      env: {...process.env, NO_COLOR: '1'},
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += String(d)
      if (stderr.includes('Felix to report BPF active') && !child.killed) child.kill('SIGINT')
    })
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)))
    expect(code).toBe(1)
    expect(stderr).toMatch(/interrupted: rolling back/)
    expect(stderr).toMatch(/Error: step "verify BPF is active on every node": interrupted.*restored/)
    expect(touchedFields(cluster.server.store, cluster.calicoNamespace)).toEqual(before)
  })
})
