import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {countersFromMap, parseCountersJson, parseCountersText, summarizeCounters} from '../../../src/lib/maps/counters.js'

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../fixtures/bpf', name), 'utf8')

describe('counters parsers', () => {
  it('reads the go-pretty tables, carrying the merged category down, N/A as no counter', () => {
    const r = parseCountersText(fixture('fmt-counters-v3.30.txt'))
    expect(r.unknown).toBe(0)
    expect(r.interfaces.map((i) => i.interface)).toEqual(['eth0', 'cali1a2b3c4d5e6'])
    expect(r.interfaces[0]!.counters.find((c) => c.type === 'packets with unknown route')).toEqual({category: 'Dropped', type: 'packets with unknown route', ingress: 5, egress: 0})
  })

  it('a real output (projectcalico/calico#9675): TYPE wrapped onto its own row is joined, N/A left-aligned is no counter', () => {
    const r = parseCountersText(fixture('counters-1-calico-9675.txt'))
    const types = r.interfaces[0]!.counters.map((c) => c.type)
    expect(types).toContain('packets hitting blackhole route')
    expect(types).toContain('packets with unsupported IP options')
    expect(types).not.toContain('route')
    expect(types).not.toContain('options')
    expect(r.interfaces[0]!.interface).toBe('calid8be076e5f7')
    expect(r.interfaces[0]!.counters.find((c) => c.type === 'packets')).toEqual({category: 'Total', type: 'packets', ingress: 37, egress: 22})
    // The second table was cut off in the thread (no caption): its rows are counted as unknown, not invented.
    expect(r.interfaces).toHaveLength(1)
    expect(r.unknown).toBe(4)
  })

  it('the same thread verbatim (projectcalico/calico#9675): the [root@host /]# prompt between the tables is noise, the cut-off last row is a truncated line', () => {
    const r = parseCountersText(fixture('counters-2-calico-9675-verbatim.txt'))
    expect(r.interfaces.map((i) => i.interface)).toEqual(['calid8be076e5f7'])
    expect(r.interfaces[0]!.counters.find((c) => c.type === 'packets hitting blackhole route')).toEqual({category: '', type: 'packets hitting blackhole route', ingress: 0, egress: 0})
    // (The excerpt starts inside the Dropped group, so its category cell is blank.) The prompt line is the calico-node
    // (UBI) shell's; it is not an unknown line.
    expect(r.noise).toBe(1)
    // The four rows of the second table have no caption yet: counted, not invented.
    expect(r.unknown).toBe(4)
    expect(r.truncatedLastLine).toBe(true)
    expect(r.errors).toEqual([])
  })

  it('a complete real table, v3.31 (tigera/docs troubleshoot-ebpf): four wrapped TYPEs joined, QoS and Redirect rows, the echoed kubectl command is noise', () => {
    const text = fixture('counters-3-tigera-docs.txt')
    // The docs cut the caption line: the rows name no interface, so they are counted as unknown, not invented.
    const cut = parseCountersText(text)
    expect(cut).toMatchObject({interfaces: [], unknown: 24, noise: 1, truncatedLastLine: false})
    // With the caption counters.go prints after every table (also with --iface), everything is read.
    const r = parseCountersText(`${text}  dumped eth0 counters.\n`)
    expect(r).toMatchObject({unknown: 0, noise: 1, errors: []})
    expect(r.interfaces.map((i) => i.interface)).toEqual(['eth0'])
    const rows = r.interfaces[0]!.counters
    expect(rows).toHaveLength(24)
    expect(rows.map((c) => c.type)).toEqual(expect.arrayContaining([
      'NAT source collision resolution failed',
      'fragment of yet incomplete packet',
      'fragment out of order within host',
      'packets hitting blackhole route',
      'packets with unsupported IP options',
      'packets hitting NAT source collision',
    ]))
    expect(rows.find((c) => c.type === 'QoS control limit')).toEqual({category: 'Dropped', type: 'QoS control limit', ingress: 0, egress: 0})
    expect(rows.find((c) => c.category === 'Other')).toEqual({category: 'Other', type: 'packets hitting NAT source collision', ingress: 0, egress: 0})
    expect(summarizeCounters(r.interfaces)).toEqual({
      packets: 56,
      accepted: 4,
      dropped: 11,
      redirected: 20,
      drops: [{reason: 'by policy', packets: 11, top: [{interface: 'eth0', hook: 'egress', packets: 11}]}],
    })
  })

  it('v3.24 tables have no XDP column: the count columns follow the header', () => {
    const r = parseCountersText(fixture('fmt-counters-v3.24.txt'))
    expect(r).toMatchObject({unknown: 0, noise: 0, errors: []})
    expect(r.interfaces).toEqual([
      {
        interface: 'eth0',
        counters: [
          {category: 'Accepted', type: 'by another program', ingress: 0, egress: 0},
          {category: 'Accepted', type: 'by failsafe', ingress: 3, egress: 0},
          {category: 'Accepted', type: 'by policy', ingress: 120, egress: 98},
          {category: 'Dropped', type: 'by policy', ingress: 7, egress: 0},
          {category: 'Dropped', type: 'packets with unsupported IP options', ingress: 0, egress: 0},
          {category: 'Total', type: 'packets', ingress: 130, egress: 98},
        ],
      },
    ])
    expect(summarizeCounters(r.interfaces).drops).toEqual([{reason: 'by policy', packets: 7, top: [{interface: 'eth0', hook: 'ingress', packets: 7}]}])
  })

  it('a real v3.24 table (tigera/docs, v3.24 page): four columns, caption, the `$ kubectl` line is noise', () => {
    const r = parseCountersText(fixture('counters-4-docs-v3.24.txt'))
    expect(r).toMatchObject({unknown: 0, noise: 1, errors: [], truncatedLastLine: false})
    expect(r.interfaces.map((i) => i.interface)).toEqual(['eth0'])
    const rows = r.interfaces[0]!.counters
    expect(rows).toHaveLength(13)
    expect(rows.every((c) => c.xdp === undefined)).toBe(true)
    expect(rows.find((c) => c.type === 'packets with unsupported IP options')).toEqual({category: 'Dropped', type: 'packets with unsupported IP options', ingress: 0, egress: 0})
    expect(rows.at(-1)).toEqual({category: 'Total', type: 'packets', ingress: 1593, egress: 1973})
    expect(summarizeCounters(r.interfaces)).toEqual({
      packets: 3566,
      accepted: 25,
      dropped: 4,
      redirected: 0,
      drops: [{reason: 'by policy', packets: 4, top: [{interface: 'eth0', hook: 'ingress', packets: 4}]}],
    })
  })

  it('a real v3.25-v3.30 table (tigera/docs, v3.29 page): XDP counts read as numbers, caption names the interface', () => {
    const r = parseCountersText(fixture('counters-5-docs-v3.29.txt'))
    expect(r).toMatchObject({unknown: 0, noise: 1, errors: [], truncatedLastLine: false})
    expect(r.interfaces.map((i) => i.interface)).toEqual(['eth0'])
    const rows = r.interfaces[0]!.counters
    expect(rows).toHaveLength(13)
    expect(rows.find((c) => c.type === 'by failsafe')).toEqual({category: 'Accepted', type: 'by failsafe', ingress: 0, egress: 2, xdp: 23})
    expect(rows.at(-1)).toEqual({category: 'Total', type: 'packets', ingress: 27, egress: 124, xdp: 41})
    expect(summarizeCounters(r.interfaces)).toEqual({packets: 192, accepted: 26, dropped: 0, redirected: 0, drops: []})
  })

  it('a real Calico Cloud table (tigera-solutions/cc-aks-ebpf): Enterprise row, XDP N/A, drops read once the cut caption is restored', () => {
    const text = fixture('counters-6-calico-cloud-workshop.txt')
    // The workshop cut the caption: 15 rows (two wrapped TYPEs joined) that name no interface are counted, not invented.
    expect(parseCountersText(text)).toMatchObject({interfaces: [], unknown: 15, noise: 0, truncatedLastLine: false})
    const r = parseCountersText(`${text}dumped cali0cdd47bbdcb counters.\n`)
    expect(r).toMatchObject({unknown: 0, noise: 0, errors: []})
    const rows = r.interfaces[0]!.counters
    expect(rows[0]).toEqual({category: 'Accepted', type: 'by Egress gateways', ingress: 0, egress: 0})
    expect(rows.every((c) => c.xdp === undefined)).toBe(true)
    expect(summarizeCounters(r.interfaces)).toEqual({
      packets: 4373,
      accepted: 893,
      dropped: 5,
      redirected: 0,
      drops: [{reason: 'by policy', packets: 5, top: [
        {interface: 'cali0cdd47bbdcb', hook: 'ingress', packets: 4},
        {interface: 'cali0cdd47bbdcb', hook: 'egress', packets: 1},
      ]}],
    })
  })

  it('error log lines around the tables are reported, not counted as unknown', () => {
    const r = parseCountersText('2026-07-30 10:26:08.453 [ERROR][597] felix/counters.go 81: Failed to dump counter map. error=x\n')
    expect(r).toMatchObject({interfaces: [], unknown: 0, noise: 1})
    expect(r.errors[0]).toMatch(/Failed to dump counter map/)
  })

  it('reads concatenated JSON documents, null hooks left out', () => {
    const r = parseCountersJson(fixture('fmt-counters.json'))
    expect(r.unknown).toBe(0)
    expect(r.interfaces[1]).toEqual({interface: 'cali1a2b3c4d5e6', counters: [{category: 'Dropped', type: 'failed to create conntrack', ingress: 17, egress: 0}]})
  })

  it('text and JSON give the same drops, top offenders first', () => {
    const t = summarizeCounters(parseCountersText(fixture('fmt-counters-v3.30.txt')).interfaces)
    expect(t).toMatchObject({packets: 1240 + 902 + 87 + 71, dropped: 31 + 2 + 5 + 17})
    expect(t.drops.map((d) => [d.reason, d.packets])).toEqual([
      ['by policy', 33],
      ['failed to create conntrack', 17],
      ['packets with unknown route', 5],
    ])
    expect(t.drops[0]!.top).toEqual([
      {interface: 'eth0', hook: 'ingress', packets: 31},
      {interface: 'eth0', hook: 'egress', packets: 2},
    ])
    const j = summarizeCounters(parseCountersJson(fixture('fmt-counters.json')).interfaces)
    expect(j.drops.map((d) => [d.reason, d.packets])).toEqual([
      ['by policy', 33],
      ['failed to create conntrack', 17],
    ])
  })

  it('sums per-CPU u64 values of the pinned map; names from ifindex; unknown indexes are named by number', () => {
    const key = (ifindex: number, hook: number) => {
      const k = Buffer.alloc(8)
      k.writeUInt32LE(ifindex, 0)
      k.writeUInt32LE(hook, 4)
      return k
    }
    const value = (counts: Record<number, number>, n = 28) => {
      const v = Buffer.alloc(n * 8)
      for (const [i, c] of Object.entries(counts)) v.writeBigUInt64LE(BigInt(c), Number(i) * 8)
      return v
    }
    const ifaces = countersFromMap(
      [
        {key: key(7, 0), values: [value({0: 10, 16: 3, 27: 1}), value({0: 5, 16: 4})]},
        {key: key(7, 1), values: [value({4: 2}), value({})]},
        {key: key(9, 5), values: [value({4: 99})]},
      ],
      (i) => (i === 7 ? 'cali1a2b3c4d5e6' : undefined),
    )
    expect(ifaces).toHaveLength(1)
    const rows = ifaces[0]!.counters
    expect(ifaces[0]!.interface).toBe('cali1a2b3c4d5e6')
    expect(rows[16]).toEqual({category: 'Dropped', type: 'failed to create conntrack', ingress: 7, egress: 0})
    expect(rows[27]).toMatchObject({category: 'Unknown', type: 'counter 27', ingress: 1})
    expect(summarizeCounters(ifaces).drops.map((d) => [d.reason, d.packets])).toEqual([
      ['failed to create conntrack', 7],
      ['by policy', 2],
    ])
  })
})
