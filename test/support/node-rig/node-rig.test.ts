/** The node rig itself: namespaces, maps, fillMap, and clean-up. */
import {existsSync, readdirSync, readFileSync} from 'node:fs'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type Rig, batchText, isAlive, startRig} from './index.js'

const isRoot = process.getuid?.() === 0

interface DumpEntry {
  key: string[]
  value: string[]
}
const hex = (b: Buffer) => [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`)

async function dump(rig: Rig, node: string, map: string): Promise<DumpEntry[]> {
  const r = await rig.runInNode(node, ['bpftool', '-j', 'map', 'dump', 'pinned', `/sys/fs/bpf/tc/globals/${map}`])
  expect(r.exitCode, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as DumpEntry[]
}

function sshdPidsUnder(dir: string): number[] {
  const pids: number[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8')
      if (cmd.includes(dir) && isAlive(Number(e))) pids.push(Number(e))
    } catch {
      // gone
    }
  }
  return pids
}

describe.skipIf(!isRoot)('node rig', () => {
  let rig: Rig
  const entries = [
    {key: Buffer.from([10, 0, 0, 1]), value: Buffer.from('0102030405060708', 'hex')},
    {key: Buffer.from([10, 0, 0, 2]), value: Buffer.from('1112131415161718', 'hex')},
    {key: Buffer.from([192, 168, 0, 255]), value: Buffer.alloc(8, 0xff)},
  ]

  beforeAll(async () => {
    rig = await startRig({
      nodes: [
        {
          name: 'n1',
          maps: [
            {name: 'cali_v4_test_hash', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8192, flags: 1, entries},
            {name: 'cali_v4_arr', type: 'array', keySize: 4, valueSize: 4, maxEntries: 4},
          ],
        },
        {name: 'n2', bpffs: false, procVersion: 'Linux version 4.19.0-fake\n'},
      ],
    })
  })
  afterAll(async () => {
    await rig?.stop()
  })

  it('gives each node its own address, port, host key and namespaces', async () => {
    expect(rig.nodes.map((n) => n.address)).toEqual(['127.0.0.2', '127.0.0.3'])
    expect(rig.nodes[0]!.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(rig.nodes[0]!.hostKeyFingerprint).not.toBe(rig.nodes[1]!.hostKeyFingerprint)
    expect(readFileSync(rig.knownHostsPath, 'utf8')).toContain(`[127.0.0.2]:${rig.nodes[0]!.port} ssh-ed25519 `)
    const self = await rig.runInNode('n1', ['readlink', '/proc/self/ns/mnt'])
    const host = readFileSync('/proc/self/mountinfo', 'utf8')
    expect(self.stdout).not.toBe('')
    expect(host).not.toMatch(/ \/sys\/fs\/bpf .* - bpf /) // the rig's bpffs is not visible outside
    const v = await rig.runInNode('n2', ['cat', '/proc/version'])
    expect(v.stdout).toBe('Linux version 4.19.0-fake\n')
    const comm = await rig.runInNode('n2', ['cat', '/proc/1/comm'])
    expect(comm.stdout).toBe('sshd\n')
  })

  it('creates the maps with their entries', async () => {
    const show = await rig.runInNode('n1', [
      'bpftool',
      '-j',
      'map',
      'show',
      'pinned',
      '/sys/fs/bpf/tc/globals/cali_v4_test_hash',
    ])
    expect(JSON.parse(show.stdout)).toMatchObject({
      type: 'hash',
      name: 'cali_v4_test_ha',
      bytes_key: 4,
      bytes_value: 8,
      max_entries: 8192,
      flags: 1,
    })
    const got = await dump(rig, 'n1', 'cali_v4_test_hash')
    expect(got.map((e) => e.key).sort()).toEqual(entries.map((e) => hex(e.key)).sort())
    const byKey = new Map(got.map((e) => [e.key.join(), e.value]))
    for (const e of entries) expect(byKey.get(hex(e.key).join())).toEqual(hex(e.value))
    expect((await dump(rig, 'n1', 'cali_v4_arr')).length).toBe(4)
  })

  it('fillMap adds thousands of entries from a batch file or entries', async () => {
    const many = Array.from({length: 5000}, (_, i) => {
      const key = Buffer.alloc(4)
      key.writeUInt32BE(0x0b000000 + i)
      const value = Buffer.alloc(8)
      value.writeUInt32LE(i)
      return {key, value}
    })
    const t = Date.now()
    await rig.fillMap('n1', 'cali_v4_test_hash', batchText('cali_v4_test_hash', many))
    const ms = Date.now() - t
    expect(ms).toBeLessThan(15_000)
    expect((await dump(rig, 'n1', 'cali_v4_test_hash')).length).toBe(5003)
    await rig.fillMap('n1', 'cali_v4_arr', [{key: Buffer.from([1, 0, 0, 0]), value: Buffer.from([9, 9, 9, 9])}])
    const arr = await dump(rig, 'n1', 'cali_v4_arr')
    expect(arr.find((e) => e.key.join() === '0x01,0x00,0x00,0x00')?.value).toEqual(['0x09', '0x09', '0x09', '0x09'])
    await expect(rig.fillMap('n2', 'nope', [{key: Buffer.alloc(4), value: Buffer.alloc(8)}])).rejects.toThrow(
      /bpftool exited/,
    )
  })

  it('stop() kills every sshd, removes the temp dir, and is idempotent', async () => {
    const other = await startRig({nodes: [{name: 'x1'}, {name: 'x2', bpffs: false}]})
    const pids = other.nodes.map((n) => n.pid)
    expect(pids.every(isAlive)).toBe(true)
    expect(sshdPidsUnder(other.dir).length).toBeGreaterThanOrEqual(2)
    await other.stop()
    await other.stop()
    expect(pids.some(isAlive)).toBe(false)
    expect(sshdPidsUnder(other.dir)).toEqual([])
    expect(existsSync(other.dir)).toBe(false)
  })
})
