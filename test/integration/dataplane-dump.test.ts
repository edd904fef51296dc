/**
 * `ebpfctl conntrack dump` / `nat dump` end to end: the built CLI, over real SSH, reading real pinned maps (created and
 * filled with bpftool in Calico's layouts) from real bpffs instances in per-node mount namespaces.
 */
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type ConntrackEntry, type NatFrontend, MAP_LAYOUTS, decodeCtEntry} from '../../src/lib/maps/index.js'
import {shellQuote} from '../../src/lib/nodes/quote.js'
import {encodeCtEntry, encodeNatMaps} from '../support/map-encoders.js'
import {type Rig, type RigMap, startRig} from '../support/node-rig/index.js'

const root = join(import.meta.dirname, '..', '..')
const isRoot = process.getuid?.() === 0

function ctEntries(n: number): ConntrackEntry[] {
  const out: ConntrackEntry[] = []
  for (let i = 0; i < n; i++) {
    const client = {ip: `10.65.${(i >> 8) & 255}.${i & 255}`, port: 30000 + (i % 20000)}
    const backend = {ip: '10.65.200.7', port: 8080}
    const vip = {ip: '10.96.0.10', port: 53}
    if (i % 3 === 0) {
      out.push({proto: 'tcp', a: client, b: backend, src: client, dst: backend, type: 'normal', flags: []})
    } else if (i % 3 === 1) {
      out.push({
        proto: 'udp',
        a: client,
        b: vip,
        src: client,
        dst: vip,
        type: 'nat-forward',
        flags: [],
        natReverseKey: {proto: 'udp', a: client, b: backend},
      })
    } else {
      out.push({proto: 'udp', a: client, b: backend, src: client, dst: backend, type: 'nat-reverse', flags: [], origDst: vip})
    }
  }
  return out
}

const frontends: NatFrontend[] = [
  {ip: '10.96.0.1', port: 443, proto: 'tcp', serviceId: 0, count: 2, localCount: 0, flags: [], backends: [
    {ordinal: 0, ip: '172.18.0.2', port: 6443},
    {ordinal: 1, ip: '172.18.0.3', port: 6443},
  ]},
  {ip: '10.96.0.10', port: 53, proto: 'udp', serviceId: 7, count: 1, localCount: 1, flags: ['internal-local'], backends: [
    {ordinal: 0, ip: '10.65.200.7', port: 8080},
  ]},
]

const fixtures = join(root, 'test', 'fixtures', 'bpf')
const CONTAINER_ID = '3f9a1c0ffee5'

/** Stand-ins on node-d. They only replay outputs recorded from real Calico (test/fixtures/bpf/SOURCE.md). */
const standIns = {
  crictl: `#!/bin/sh
# crictl: 'ps --name calico-node -q' prints the container id; 'exec ID ARGV…' runs ARGV ("inside" the container).
case "$1" in
  ps) [ "$*" = "ps --name calico-node -q" ] && echo ${CONTAINER_ID} ;;
  exec) [ "$2" = ${CONTAINER_ID} ] || { echo "container not found: $2" >&2; exit 1; }; shift 2; exec "$@" ;;
  *) echo "stand-in crictl: unexpected $*" >&2; exit 2 ;;
esac
`,
  'calico-node': `#!/bin/sh
# A v3.28 calico-node: no --json (cobra rejects the flag and exits 1, §0.3), pretty conntrack text with Age:.
case "$*" in
  *--json*) echo 'Error: unknown flag: --json' >&2; exit 1 ;;
  "-bpf conntrack dump") exec cat ${shellQuote(join(fixtures, 'ct-1-calico-pr-8749.txt'))} ;;
  "-bpf nat dump") exec cat ${shellQuote(join(fixtures, 'nat-5-calico-8255.txt'))} ;;
  *) echo "stand-in calico-node: nothing recorded for: $*" >&2; exit 2 ;;
esac
`,
}

const asBuffers = (entries: {key: Uint8Array; value: Uint8Array}[]) =>
  entries.map((e) => ({key: Buffer.from(e.key), value: Buffer.from(e.value)}))

function calicoMaps(ct: ConntrackEntry[]): RigMap[] {
  const nat = encodeNatMaps(frontends)
  const l = MAP_LAYOUTS
  return [
    {name: l.ct4.name, type: l.ct4.mapType, keySize: 16, valueSize: 88, maxEntries: 4096, entries: asBuffers(ct.map((e) => encodeCtEntry(e)))},
    {name: l['nat-fe3'].name, type: 'lpm_trie', keySize: 16, valueSize: 20, maxEntries: 1024, flags: 1, entries: asBuffers(nat.frontends)},
    {name: l['nat-be'].name, type: 'hash', keySize: 8, valueSize: 8, maxEntries: 1024, flags: 1, entries: asBuffers(nat.backends)},
  ]
}

describe.runIf(isRoot)('dataplane dumps over SSH from real pinned maps', () => {
  let rig: Rig
  const written = ctEntries(300)
  const liveCt3 = ctEntries(40).map((e) => ({...e, a: {...e.a, ip: e.a.ip.replace('10.65.', '10.66.')}}))
  // What the bytes we wrote mean, decoded independently of the CLI.
  const expected = written.map((e) => {
    const b = encodeCtEntry(e)
    return decodeCtEntry(b.key, b.value, {layout: 'ct4'})
  })

  beforeAll(async () => {
    rig = await startRig({
      nodes: [
        {name: 'node-a', maps: calicoMaps(written)},
        {name: 'node-b', bpffs: false},
        // After a downgrade: the live programs use ct3, and a stale, higher ct4 is still pinned.
        {
          name: 'node-c',
          maps: [
            {name: 'cali_v4_ct3', type: 'hash', keySize: 16, valueSize: 88, maxEntries: 1024, entries: asBuffers(liveCt3.map((e) => encodeCtEntry(e, 'ct3')))},
            {name: 'cali_v4_ct4', type: 'lru_hash', keySize: 16, valueSize: 88, maxEntries: 1024, entries: asBuffers(written.slice(0, 5).map((e) => encodeCtEntry(e)))},
          ],
          programUsesMaps: ['cali_v4_ct3'],
        },
        {name: 'node-d', bin: standIns},
      ],
    })
  }, 60_000)
  afterAll(async () => rig?.stop())

  const sshArgs = () => [
    '--via', 'ssh',
    '--ssh-user', 'root',
    '--ssh-identity', rig.identityFile,
    '--ssh-known-hosts', rig.knownHostsPath,
    '--ssh-config', join(rig.dir, 'no-ssh-config'),
    ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
  ]
  const cli = (args: string[]) =>
    execa('node', [join(root, 'bin/run.js'), ...args], {reject: false, env: {NO_COLOR: '1', KUBECONFIG: ''}})

  it('decodes every conntrack entry that was written, entry by entry', async () => {
    const r = await cli(['conntrack', 'dump', '--node', 'node-a', '--source', 'bpftool', '-o', 'json', ...sshArgs()])
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    const report = JSON.parse(r.stdout) as {kind: string; nodes: {node: string; entries: ConntrackEntry[]; summary: {source: string; entries: number}}[]}
    expect(report.kind).toBe('ConntrackDump')
    const node = report.nodes[0]!
    expect(node.node).toBe('node-a')
    expect(node.summary.source).toBe('bpftool')
    expect(node.summary.entries).toBe(written.length)
    const key = (e: ConntrackEntry) => `${e.proto} ${e.a.ip}:${e.a.port} ${e.b.ip}:${e.b.port}`
    const got = new Map(node.entries.map((e) => [key(e), e]))
    expect(got.size).toBe(written.length)
    for (const e of expected) expect(got.get(key(e))).toStrictEqual(e)
    // And the facts we put in, in the terms a user reads them:
    const rev = node.entries.find((e) => e.type === 'nat-reverse')!
    expect(rev.origDst).toStrictEqual({ip: '10.96.0.10', port: 53})
  })

  it('filters and counts: --nat-only --ip, and --stats', async () => {
    const r = await cli(['conntrack', 'dump', '--node', 'node-a', '--source', 'bpftool', '--nat-only', '--ip', '10.96.0.10', '-o', 'json', ...sshArgs()])
    expect(r.exitCode).toBe(0)
    const entries = (JSON.parse(r.stdout) as {nodes: {entries: ConntrackEntry[]}[]}).nodes[0]!.entries
    expect(entries.length).toBe(written.filter((e) => e.type !== 'normal').length)
    const s = await cli(['conntrack', 'dump', '--node', 'node-a', '--source', 'bpftool', '--stats', '-o', 'json', ...sshArgs()])
    expect(s.exitCode).toBe(0)
    const stats = (JSON.parse(s.stdout) as {nodes: {stats: {entries: number; byType: Record<string, number>; mapSize: number}}[]}).nodes[0]!.stats
    expect(stats.entries).toBe(300)
    expect(stats.byType).toStrictEqual({normal: 100, 'nat-forward': 100, 'nat-reverse': 100, unknown: 0})
    expect(stats.mapSize).toBe(4096)
  })

  it('reads the NAT maps and assembles frontends with their backends', async () => {
    const r = await cli(['nat', 'dump', '--node', 'node-a', '--source', 'bpftool', '-o', 'json', ...sshArgs()])
    expect(r.exitCode).toBe(0)
    const node = (JSON.parse(r.stdout) as {nodes: {frontends: NatFrontend[]}[]}).nodes[0]!
    const byKey = new Map(node.frontends.map((f) => [`${f.ip}:${f.port}`, f]))
    expect(byKey.get('10.96.0.1:443')?.backends.map((b) => `${b.ip}:${b.port}`)).toStrictEqual(['172.18.0.2:6443', '172.18.0.3:6443'])
    expect(byKey.get('10.96.0.10:53')?.flags).toStrictEqual(['internal-local'])
    expect(byKey.get('10.96.0.10:53')?.localCount).toBe(1)
  })

  it('reads the map the loaded programs use when a stale higher version is also pinned (§2.9 step 3)', async () => {
    const r = await cli(['conntrack', 'dump', '--node', 'node-c', '--source', 'bpftool', '-o', 'json', ...sshArgs()])
    expect(r.exitCode).toBe(0)
    const node = (JSON.parse(r.stdout) as {nodes: {entries: ConntrackEntry[]; summary: {entries: number; warnings: string[]}}[]}).nodes[0]!
    expect(node.summary.entries).toBe(40)
    expect(node.entries.every((e) => e.a.ip.startsWith('10.66.') || e.b.ip.startsWith('10.66.'))).toBe(true)
    expect(node.summary.warnings.join('\n')).toMatch(/cali_v4_ct4: also pinned but used by no loaded BPF program.*reading cali_v4_ct3/)
  })

  it('runs the agent in the calico-node container over SSH (--agent-crictl / --agent-cmd), text after --json fails', async () => {
    const {parseConntrackText, parseNatDumpText} = await import('../../src/lib/maps/index.js')
    const {readFileSync} = await import('node:fs')
    const wantCt = parseConntrackText(readFileSync(join(fixtures, 'ct-1-calico-pr-8749.txt'), 'utf8')).entries
    const wantNat = parseNatDumpText(readFileSync(join(fixtures, 'nat-5-calico-8255.txt'), 'utf8')).entries
    expect(wantCt.length).toBeGreaterThan(5)
    const ct = await cli(['conntrack', 'dump', '--node', 'node-d', '--source', 'agent', '--agent-crictl', '-o', 'json', ...sshArgs()])
    expect(ct.stderr).toBe('')
    expect(ct.exitCode).toBe(0)
    const ctNode = (JSON.parse(ct.stdout) as {nodes: {entries: ConntrackEntry[]; summary: {source: string}}[]}).nodes[0]!
    expect(ctNode.summary.source).toBe('agent-text')
    expect(ctNode.entries).toStrictEqual(JSON.parse(JSON.stringify(wantCt)))
    const nat = await cli(['nat', 'dump', '--node', 'node-d', '--source', 'agent', '--agent-cmd', `crictl exec ${CONTAINER_ID}`, '-o', 'json', ...sshArgs()])
    expect(nat.exitCode).toBe(0)
    const natNode = (JSON.parse(nat.stdout) as {nodes: {frontends: NatFrontend[]; summary?: {source: string}}[]}).nodes[0]!
    expect(natNode.frontends.map((f) => `${f.ip}:${f.port} ${f.backends.length}`)).toStrictEqual(
      wantNat.map((f) => `${f.ip}:${f.port} ${f.backends.length}`),
    )
    // A wrong container id is the node's error, in words.
    const bad = await cli(['nat', 'dump', '--node', 'node-d', '--source', 'agent', '--agent-cmd', 'crictl exec nope', ...sshArgs()])
    expect(bad.exitCode).toBe(1)
    expect(bad.stdout + bad.stderr).toMatch(/node-d.*container not found: nope/s)
   }, 60_000) // three CLI runs, each with a probe round-trip over SSH

  it('says the dataplane is not active on a node without Calico maps, and still reads the others', async () => {
    const r = await cli(['conntrack', 'dump', '--node', 'node-a', '--node', 'node-b', '--source', 'bpftool', '--stats', ...sshArgs()])
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toMatch(/node-a\s+300/)
    expect(r.stdout).toMatch(/node-b\s+error.*BPF dataplane is not active on this node/)
  })
})
