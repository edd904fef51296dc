import {describe, expect, it} from 'vitest'

import {type DataplaneReadOptions, DataplaneReadError, readNat, streamConntrack, withFallback} from '../../../src/lib/dataplane/read-maps.js'
import type {ConntrackEntry} from '../../../src/lib/maps/index.js'
import type {NodeRunner, RunOptions, RunResult} from '../../../src/lib/nodes/types.js'
import {fixture} from '../maps/helpers.js'

/** A runner that answers from a script of (argv prefix → result) and records what was run. */
function scriptedRunner(script: [string, RunResult | ((argv: string[]) => RunResult)][]): NodeRunner & {calls: string[]} {
  const calls: string[] = []
  return {
    via: 'exec',
    calls,
    async run(_node, argv: string[], opts: RunOptions): Promise<RunResult> {
      const line = argv.join(' ')
      calls.push(line)
      const hit = script.find(([prefix]) => line === prefix || line.startsWith(prefix + ' '))
      if (!hit) return {stdout: '', stderr: `sh: ${argv[0]}: not found`, exitCode: 127}
      const res = typeof hit[1] === 'function' ? hit[1](argv) : hit[1]
      if (opts.onStdout) {
        opts.onStdout(Buffer.from(res.stdout))
        return {...res, stdout: ''}
      }
      return res
    },
    async close() {},
  }
}

const node = {name: 'node-1'}
const base = {timeoutMs: 1000, agentReachable: true}

describe('readNat', () => {
  it('uses --json when the version has it, flags after the subcommand', async () => {
    const runner = scriptedRunner([['calico-node -bpf nat dump --json', {stdout: fixture('doc-nat-dump.json'), stderr: '', exitCode: 0}]])
    const r = await readNat(runner, node, {...base, source: 'agent', calicoVersion: 'v3.32.1'})
    // The probe for /usr/bin/calico cannot run here (exit 127): the version orders the styles.
    expect(runner.calls).toStrictEqual(['test -x /usr/bin/calico', 'calico-node -bpf nat dump --json'])
    expect(r.source).toBe('agent-json')
    expect(r.frontends[0]).toMatchObject({ip: '172.18.0.100', port: 80, srcRange: '192.168.0.0/16', serviceId: 12})
  })

  it('falls back to text when --json is not known, and to the calico binary on new images', async () => {
    const runner = scriptedRunner([
      ['calico-node -bpf nat dump --json', {stdout: '', stderr: 'exec: "calico-node": executable file not found in $PATH', exitCode: 126}],
      ['calico component node bpf nat dump --json', {stdout: '', stderr: 'Error: unknown flag: --json', exitCode: 1}],
      ['calico component node bpf nat dump', {stdout: fixture('nat-5-calico-8255.txt'), stderr: '', exitCode: 0}],
    ])
    const r = await readNat(runner, node, {...base, source: 'agent'})
    expect(runner.calls).toStrictEqual([
      'test -x /usr/bin/calico',
      'calico-node -bpf nat dump --json',
      'calico component node bpf nat dump --json',
      'calico component node bpf nat dump',
    ])
    expect(r.source).toBe('agent-text')
    expect(r.frontends.length).toBeGreaterThan(0)
  })

  it('turns "map missing" into: the BPF dataplane is not active on this node (the agent exits 0 on it)', async () => {
    const stderr = '2026-07-22 10:00:00.000 [ERROR][1] node/nat.go 73: Failed to dump NAT maps error=stat /sys/fs/bpf/tc/globals/cali_v4_nat_fe3: no such file or directory'
    const runner = scriptedRunner([['calico-node -bpf nat dump', {stdout: '', stderr, exitCode: 0}]])
    const err = await readNat(runner, node, {...base, source: 'auto', calicoVersion: 'v3.30.0'}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DataplaneReadError)
    expect((err as DataplaneReadError).reason).toBe('map-missing')
    expect((err as Error).message).toMatch(/^the BPF dataplane is not active on this node/)
    // auto does not try bpftool when the agent already says the maps are missing
    expect(runner.calls).toStrictEqual(['test -x /usr/bin/calico', 'calico-node -bpf nat dump'])
  })

  it('the container decides the command style, not the version: /usr/bin/calico on a "v3.32" image', async () => {
    const runner = scriptedRunner([
      ['test -x /usr/bin/calico', {stdout: '', stderr: '', exitCode: 0}],
      ['calico component node bpf nat dump --json', {stdout: fixture('doc-nat-dump.json'), stderr: '', exitCode: 0}],
    ])
    const r = await readNat(runner, node, {...base, source: 'agent', calicoVersion: 'v3.32.1'})
    expect(runner.calls).toStrictEqual(['test -x /usr/bin/calico', 'calico component node bpf nat dump --json'])
    expect(r.frontends.length).toBeGreaterThan(0)
  })

  it('auto reads the pinned maps with bpftool when the agent cannot run', async () => {
    const show = JSON.stringify([
      {id: 1, name: 'cali_v4_nat_fe3', type: 'lpm_trie', bytes_key: 16, bytes_value: 20, max_entries: 65536, pinned: ['/sys/fs/bpf/tc/globals/cali_v4_nat_fe3']},
      {id: 2, name: 'cali_v4_nat_be', type: 'hash', bytes_key: 8, bytes_value: 8, max_entries: 262144, pinned: ['/sys/fs/bpf/tc/globals/cali_v4_nat_be']},
      {id: 3, name: 'other_map', type: 'hash', bytes_key: 4, bytes_value: 4},
    ])
    // 10.96.0.1:443 tcp, id 5, count 1 → backend 5:0 = 172.18.0.2:6443 (calico-bpf.md §2.3–2.4 layouts)
    const hex = (bytes: number[]) => JSON.stringify(bytes.map((b) => `0x${b.toString(16).padStart(2, '0')}`))
    const feKey = [56, 0, 0, 0, 10, 96, 0, 1, 0xbb, 0x01, 6, 0, 0, 0, 0, 0]
    const feVal = [5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    const beKey = [5, 0, 0, 0, 0, 0, 0, 0]
    const beVal = [172, 18, 0, 2, 0x2b, 0x19, 0, 0]
    const runner = scriptedRunner([
      ['calico-node -bpf nat dump', {stdout: '', stderr: 'exec: "calico-node": executable file not found in $PATH', exitCode: 126}],
      ['bpftool -j -f map show', {stdout: show, stderr: '', exitCode: 0}],
      ['bpftool -j map dump pinned /sys/fs/bpf/tc/globals/cali_v4_nat_fe3', {stdout: `[{"key":${hex(feKey)},"value":${hex(feVal)}}]`, stderr: '', exitCode: 0}],
      ['bpftool -j map dump pinned /sys/fs/bpf/tc/globals/cali_v4_nat_be', {stdout: `[{"key":${hex(beKey)},"value":${hex(beVal)}}]`, stderr: '', exitCode: 0}],
    ])
    const r = await readNat(runner, node, {...base, source: 'auto', calicoVersion: 'v3.30.0'})
    expect(r.source).toBe('bpftool')
    expect(r.frontends).toHaveLength(1)
    expect(r.frontends[0]).toMatchObject({ip: '10.96.0.1', port: 443, proto: 'tcp', serviceId: 5, count: 1})
    expect(r.frontends[0]!.backends).toStrictEqual([{ordinal: 0, ip: '172.18.0.2', port: 6443}])
  })
})

describe('streamConntrack', () => {
  it('streams agent text line by line into batches', async () => {
    const runner = scriptedRunner([['calico-node -bpf conntrack dump', {stdout: fixture('doc-ct-pretty.txt'), stderr: '', exitCode: 0}]])
    const got: ConntrackEntry[] = []
    const summary = await streamConntrack(runner, node, {...base, source: 'agent', calicoVersion: 'v3.30.2'}, (b) => got.push(...b))
    expect(summary.source).toBe('agent-text')
    expect(summary.entries).toBe(got.length)
    expect(got.length).toBeGreaterThan(0)
  })

  it('says bpftool is missing in words a user can act on', async () => {
    const runner = scriptedRunner([])
    const err = await streamConntrack(runner, node, {...base, source: 'bpftool'}, () => {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DataplaneReadError)
    expect((err as DataplaneReadError).reason).toBe('bpftool-missing')
    expect((err as DataplaneReadError).remedy).toMatch(/Install bpftool/)
  })
})

describe('withFallback', () => {
  const agentFails = () => Promise.reject(new DataplaneReadError('node-1', 'agent-failed', 'calico-node -bpf exited 1: permission denied'))
  it('names the agent failure when the bpftool fallback fails too', async () => {
    const bpftoolMissing = () => Promise.reject(new DataplaneReadError('node-1', 'bpftool-missing', 'bpftool is not installed', 'install bpftool'))
    const err = await withFallback({source: 'auto', agentReachable: true} as DataplaneReadOptions, agentFails, bpftoolMissing).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DataplaneReadError)
    expect(err).toMatchObject({reason: 'bpftool-missing', remedy: 'install bpftool'})
    expect((err as Error).message).toBe(
      'bpftool is not installed (tried after the Calico BPF tool failed: calico-node -bpf exited 1: permission denied)',
    )
  })
  it('returns the fallback result when only the agent fails', async () => {
    await expect(withFallback({source: 'auto', agentReachable: true} as DataplaneReadOptions, agentFails, () => Promise.resolve(7))).resolves.toBe(7)
  })
})
