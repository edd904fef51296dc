import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {describe, expect, it} from 'vitest'

import {
  CT_CANDIDATE_PATHS,
  CT_COUNT_SCRIPT,
  BatchShowDumpSplitter,
  countConntrackOneCommand,
} from '../../../src/lib/dataplane/ct-count.js'
import {readConntrackStats} from '../../../src/lib/dataplane/conntrack-stats.js'
import {type DataplaneReadOptions, DataplaneReadError} from '../../../src/lib/dataplane/read-maps.js'
import {BpftoolDumpScanner, ConntrackStatsAccumulator, ConntrackTally, decodeCtEntry} from '../../../src/lib/maps/index.js'
import type {NodeRunner, RunOptions, RunResult} from '../../../src/lib/nodes/types.js'
import {ctEntries} from '../../support/ct-entries.js'
import {encodeCtEntry, renderBpftoolDumpJson} from '../../support/map-encoders.js'

const CT4 = '/sys/fs/bpf/tc/globals/cali_v4_ct4'
const CT3 = '/sys/fs/bpf/tc/globals/cali_v4_ct3'
const node = {name: 'node-1'}
const opts: DataplaneReadOptions = {source: 'bpftool', timeoutMs: 1000, agentReachable: false}

const showOf = (maps: {name: string; type?: string; max?: number; id?: number}[]) =>
  JSON.stringify(
    maps.map((m, i) => ({
      id: m.id ?? 10 + i,
      name: m.name,
      type: m.type ?? (m.name.endsWith('ct4') ? 'lru_hash' : 'hash'),
      bytes_key: 16,
      bytes_value: 88,
      max_entries: m.max ?? 65536,
      pinned: [`/sys/fs/bpf/tc/globals/${m.name}`],
    })),
  ) + '\n'

/** What `bpftool -j -f batch` prints for `map show` and, when path is given, `map dump pinned path`. */
const batchOut = (listing: string, path?: string, dumped?: string) =>
  `[{"command":["map","show"],"output":${listing.trim()}}` +
  (path === undefined ? '' : `,{"command":["map","dump","pinned",${JSON.stringify(path)}],"output":${dumped ?? dump}}`) +
  ']\n'

const entries = ctEntries(300).map((e) => encodeCtEntry(e))
const dump = renderBpftoolDumpJson(entries)
const expected = () => {
  const acc = new ConntrackStatsAccumulator()
  for (const e of entries) acc.add(decodeCtEntry(e.key, e.value, {layout: 'ct4'}))
  return acc.result()
}

/** What the script prints: the listing, the marker line, the dump; delivered in `chunk`-byte pieces. */
function runner(
  answer: (argv: string[]) => RunResult & {chunk?: number},
): NodeRunner & {calls: string[][]} {
  const calls: string[][] = []
  return {
    via: 'ssh',
    calls,
    async run(_node, argv: string[], o: RunOptions): Promise<RunResult> {
      calls.push(argv)
      const res = answer(argv)
      if (!o.onStdout) return res
      const buf = Buffer.from(res.stdout)
      const step = res.chunk ?? 4096
      for (let i = 0; i < buf.length; i += step) o.onStdout(buf.subarray(i, i + step))
      return {...res, stdout: ''}
    },
    async close() {},
  }
}

const isScript = (argv: string[]) => argv[0] === 'sh' && argv[2] === CT_COUNT_SCRIPT

describe('countConntrackOneCommand', () => {
  it('reads listing and dump in one command, whatever the chunking, with the same stats as decoding every entry', async () => {
    for (const chunk of [1, 7, 100, 65536]) {
      const r = runner((argv) => ({stdout: batchOut(showOf([{name: 'cali_v4_ct4', max: 4096}]), CT4), stderr: '', exitCode: 0, chunk}))
      const got = await countConntrackOneCommand(r, node, opts)
      expect(r.calls).toHaveLength(1)
      expect(r.calls[0]).toStrictEqual(['sh', '-c', CT_COUNT_SCRIPT, 'ebpfctl-ct-count', ...CT_CANDIDATE_PATHS])
      expect(got!.mapSize).toBe(4096)
      expect(got!.tally.result({}, {layout: got!.layout})).toEqual(expected())
    }
  })

  it('asks for the newest conntrack map first, as selectMaps prefers', () => {
    expect(CT_CANDIDATE_PATHS).toStrictEqual([CT4, CT3, '/sys/fs/bpf/tc/globals/cali_v4_ct2'])
  })

  it('falls back to the two-command read when the shell cannot run, or the listing fails', async () => {
    const noSh = runner(() => ({stdout: '', stderr: 'exec: "sh": executable file not found in $PATH', exitCode: 127}))
    expect(await countConntrackOneCommand(noSh, node, opts)).toBeUndefined()
    const showFails = runner(() => ({stdout: '', stderr: 'sh: 1: bpftool: not found', exitCode: 127}))
    expect(await countConntrackOneCommand(showFails, node, opts)).toBeUndefined()
  })

  it('falls back when the map in use is not the one the shell dumped (a live ct3 next to a stale ct4)', async () => {
    const r = runner((argv) => {
      if (isScript(argv)) return {stdout: batchOut(showOf([{name: 'cali_v4_ct4', id: 1}, {name: 'cali_v4_ct3', id: 2}]), CT4), stderr: '', exitCode: 0}
      // Only ct3 is used by a loaded program.
      if (argv.join(' ') === 'bpftool -j prog show') return {stdout: JSON.stringify([{id: 7, map_ids: [2]}]), stderr: '', exitCode: 0}
      return {stdout: '', stderr: 'unexpected', exitCode: 2}
    })
    expect(await countConntrackOneCommand(r, node, opts)).toBeUndefined()
  })

  it('falls back when bpftool cannot run the batch (nothing dumped, a failure), even if it printed something else', async () => {
    const old = runner(() => ({stdout: '{"error":"unknown command batch"}', stderr: '', exitCode: 255}))
    expect(await countConntrackOneCommand(old, node, opts)).toBeUndefined()
  })

  it('a dump that fails with its error only in the JSON bpftool prints names that error', async () => {
    const failed = `[{"key":["0x01"],"value":["0x02"]},{"error":"can't get next key: Operation not permitted"}`
    const r = runner(() => ({stdout: batchOut(showOf([{name: 'cali_v4_ct4'}]), CT4, failed), stderr: '', exitCode: 255}))
    const err = await countConntrackOneCommand(r, node, opts).catch((e: unknown) => e)
    expect((err as DataplaneReadError).message).toMatch(/cali_v4_ct4 failed: can't get next key: Operation not permitted/)
  })

  it('no conntrack map pinned: the BPF dataplane is not active (as before)', async () => {
    const r = runner(() => ({stdout: batchOut(showOf([{name: 'cali_v4_nat_be'}])), stderr: '', exitCode: 0}))
    const err = await countConntrackOneCommand(r, node, opts).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DataplaneReadError)
    expect((err as DataplaneReadError).reason).toBe('map-missing')
  })

  it('a dump that fails part-way is an error naming bpftool, not a smaller count', async () => {
    const half = dump.slice(0, dump.length / 2)
    const r = runner(() => ({stdout: batchOut(showOf([{name: 'cali_v4_ct4'}]), CT4, half), stderr: 'Error: can\'t get next key: Operation not permitted\n', exitCode: 255}))
    const err = await countConntrackOneCommand(r, node, opts).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DataplaneReadError)
    expect((err as DataplaneReadError).message).toMatch(/bpftool -j map dump pinned .*cali_v4_ct4 failed: Error: can't get next key/)
  })

  it('hostile output: a marker naming a path it was not given, an endless marker line, an endless listing', async () => {
    const bad = async (stdout: string, o = opts) => {
      const err = await countConntrackOneCommand(runner(() => ({stdout, stderr: '', exitCode: 0, chunk: 512})), node, o).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DataplaneReadError)
      return (err as DataplaneReadError).message
    }
    expect(await bad(batchOut(showOf([{name: 'cali_v4_ct4'}]), '/etc/shadow'))).toMatch(/names no conntrack map/)
    expect(await bad(batchOut(showOf([{name: 'cali_v4_ct4'}]), 'x'.repeat(100_000)))).toMatch(/dump command .* too long/)
    expect(await bad(`[{"command":["map","show"],"output":[${' '.repeat(200_000)}`, {...opts, maxOutputBytes: 100_000})).toMatch(/listing is longer than 100000 bytes/)
  })

  it('more distinct signatures than a tally keeps: every entry is decoded instead (no partial count)', async () => {
    const r = runner(() => ({stdout: batchOut(showOf([{name: 'cali_v4_ct4'}]), CT4), stderr: '', exitCode: 0}))
    expect(await countConntrackOneCommand(r, node, opts, {maxSignatures: 2})).toBeUndefined()
    expect(await countConntrackOneCommand(r, node, opts, {maxSignatures: 100})).toBeDefined()
  })

  it('a listing that is not JSON is bpftool-failed, as with the two-command read', async () => {
    const r = runner(() => ({stdout: batchOut('<html>', CT4), stderr: '', exitCode: 0}))
    const err = await countConntrackOneCommand(r, node, opts).catch((e: unknown) => e)
    expect((err as DataplaneReadError).reason).toBe('bpftool-failed')
  })
})

describe('readConntrackStats over bpftool', () => {
  it('costs one remote command per node (two before: map show, then the dump) and gives the same numbers', async () => {
    const r = runner((argv) => {
      if (isScript(argv)) return {stdout: batchOut(showOf([{name: 'cali_v4_ct4', max: 4096}]), CT4), stderr: '', exitCode: 0}
      if (argv.join(' ') === 'bpftool -j -f map show') return {stdout: showOf([{name: 'cali_v4_ct4', max: 4096}]), stderr: '', exitCode: 0}
      if (argv.join(' ') === `bpftool -j map dump pinned ${CT4}`) return {stdout: dump, stderr: '', exitCode: 0}
      return {stdout: '', stderr: 'unexpected', exitCode: 2}
    })
    const stats = await readConntrackStats(r, node, opts)
    expect(r.calls).toHaveLength(1)
    const e = expected()
    expect(stats).toStrictEqual({
      source: 'bpftool',
      method: 'counted-dump',
      mapSize: 4096,
      mapSizeFrom: 'map',
      entries: e.mapEntries,
      connections: e.connections,
      natConnections: e.byType['nat-forward'],
      natShare: e.byType['nat-forward'] / e.connections,
      fill: e.mapEntries / 4096,
      tcp: {established: e.tcpStates.ESTABLISHED, synSent: e.tcpStates['SYN-SENT'], closed: e.tcpStates.CLOSED, reset: e.tcpStates.RESET},
      // Protocols of connections, as Calico's conntrack stats counts them (NAT-forward entries left out).
      byProto: {tcp: e.connectionsByProto.tcp ?? 0, udp: e.connectionsByProto.udp ?? 0, other: 0},
    })
  })
})

describe('BatchShowDumpSplitter', () => {
  it('finds the dump command across chunk boundaries and never keeps the dump', () => {
    const tally = new ConntrackTally()
    const scanner = new BpftoolDumpScanner((k, v) => tally.add(k, v))
    const split = new BatchShowDumpSplitter(1 << 20, scanner)
    const out = Buffer.from(batchOut('[{"id":1}]', CT4))
    for (let i = 0; i < out.length; i += 3) split.push(out.subarray(i, i + 3))
    expect(scanner.end().complete).toBe(true)
    expect(split.problem).toBeUndefined()
    expect(split.dumped).toBe(CT4)
    expect(split.listing()).toBe('[{"id":1}]')
    expect(tally.entries).toBe(300)
  })

  it('no conntrack map pinned: the listing alone, without the closing brackets of the batch', () => {
    const split = new BatchShowDumpSplitter(1 << 20, new BpftoolDumpScanner(() => {}))
    split.push(Buffer.from(batchOut('[{"id":1}]')))
    expect(split.dumped).toBeUndefined()
    expect(split.listing()).toBe('[{"id":1}]')
  })

  it('output that is not batch JSON is a problem from its first bytes on', () => {
    const split = new BatchShowDumpSplitter(1 << 20, new BpftoolDumpScanner(() => {}))
    split.push(Buffer.from('[{"id":1}]'))
    expect(split.problem).toMatch(/not bpftool batch JSON/)
  })
})

describe('CT_COUNT_SCRIPT on a shell', () => {
  // Runs the real script with /bin/sh and a stand-in bpftool that records each run: the node starts one bpftool
  // process for the listing and the dump (two before), fed the batch on stdin.
  const runScript = async (paths: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'ct-script-'))
    try {
      const log = join(dir, 'log')
      writeFileSync(join(dir, 'bpftool'), `#!/bin/sh\nprintf 'run: %s\\n' "$*" >> ${log}\ncat "$5" >> ${log}\n`, {mode: 0o755})
      const real = (p: string) => join(dir, p)
      for (const p of paths.filter((x) => x.endsWith('+'))) writeFileSync(real(p.slice(0, -1)), '')
      const args = paths.map((p) => real(p.replace(/\+$/, '')))
      const r = await execa('/bin/sh', ['-c', CT_COUNT_SCRIPT, 'ebpfctl-ct-count', ...args], {
        env: {PATH: `${dir}:/usr/bin:/bin`},
        reject: false,
      })
      return {exitCode: r.exitCode, log: readFileSync(log, 'utf8').replaceAll(dir, 'D')}
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }

  it('one bpftool batch: the listing, then the dump of the first candidate that is pinned', async () => {
    const r = await runScript(['ct4', 'ct3+', 'ct2+'])
    expect(r.exitCode).toBe(0)
    expect(r.log).toBe('run: -j -f batch file /dev/stdin\nmap show\nmap dump pinned D/ct3\n')
  })

  it('nothing pinned: the listing alone, still one bpftool', async () => {
    const r = await runScript(['ct4', 'ct3'])
    expect(r.log).toBe('run: -j -f batch file /dev/stdin\nmap show\n\n')
  })
})
