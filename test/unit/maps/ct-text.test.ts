import {describe, expect, it} from 'vitest'

import {parseConntrackStatsText} from '../../../src/lib/maps/ct-stats-text.js'
import {ConntrackTextParser, parseConntrackLine, parseConntrackText} from '../../../src/lib/maps/ct-text.js'
import {ctFlagNames, tcpStateOf, type ConntrackEntry, type CtLeg, type Endpoint} from '../../../src/lib/maps/model.js'
import {fixture} from './helpers.js'

const ep = (s: string): Endpoint => {
  const i = s.lastIndexOf(':')
  return {ip: s.slice(0, i), port: Number(s.slice(i + 1))}
}

/** An expected pretty entry; `aFirst` says whether the canonical key order is (src, dst). */
function pretty(
  proto: ConntrackEntry['proto'],
  src: string,
  dst: string,
  aFirst: boolean,
  extra: Partial<ConntrackEntry>,
): ConntrackEntry {
  const s = ep(src)
  const d = ep(dst)
  return {
    proto,
    a: aFirst ? s : d,
    b: aFirst ? d : s,
    src: s,
    dst: d,
    type: extra.origDst ? 'nat-reverse' : 'normal',
    flags: [],
    keyOrderInferred: true,
    ...extra,
  }
}

const leg = (bytes: number, packets: number, seqno: number, bits: string, ifindex: number): CtLeg => ({
  bytes,
  packets,
  seqno,
  syn: bits.includes('S'),
  ack: bits.includes('A'),
  fin: bits.includes('F'),
  rst: bits.includes('R'),
  approved: bits.includes('P'),
  opener: bits.includes('O'),
  workload: bits.includes('W'),
  ifindex,
})

describe('conntrack text: real output CT-1 (v3.28–v3.29 pretty with Age:)', () => {
  it('parses every line exactly', () => {
    const r = parseConntrackText(fixture('ct-1-calico-pr-8749.txt'))
    expect(r.format).toBe('pretty-age')
    expect(r.entries).toStrictEqual([
      pretty('udp', '172.18.0.1:35199', '239.255.255.250:1900', true, {
        ageSeconds: 56.28257308,
        activeAgoSeconds: 53.279924595,
      }),
      pretty('tcp', '172.18.0.9:57736', '10.65.0.2:8055', false, {
        origDst: ep('172.18.0.7:30333'),
        ageSeconds: 2.535576963,
        activeAgoSeconds: 0.49347131,
        tcpState: 'SYN-SENT',
      }),
      pretty('udp', '172.18.0.1:5353', '224.0.0.251:5353', true, {
        ageSeconds: 57.284951727,
        activeAgoSeconds: 50.27747628,
      }),
      pretty('udp', '172.18.0.1:37213', '239.255.255.250:1900', true, {
        ageSeconds: 59.283295671,
        activeAgoSeconds: 57.282576585,
      }),
      pretty('tcp', '172.18.0.1:52424', '172.18.0.7:9099', true, {
        ageSeconds: 58.300322297,
        activeAgoSeconds: 12.945516929,
        tcpState: 'ESTABLISHED',
      }),
      pretty('tcp', '172.18.0.9:57162', '10.65.0.2:8055', false, {
        origDst: ep('172.18.0.6:30333'),
        tunnelIp: '172.18.0.6',
        ageSeconds: 6.107113931,
        activeAgoSeconds: 0.988204797,
        tcpState: 'SYN-SENT',
      }),
    ])
    expect(r.unknownLines).toBe(0)
    expect(r.noiseLines).toBe(0)
    expect(r.errors).toStrictEqual([])
  })

  it('CT-2 conntrack remove errors are collected as errors, not entries', () => {
    const r = parseConntrackText(fixture('ct-2-calico-13916.txt'))
    expect(r.entries).toStrictEqual([])
    expect(r.errors).toStrictEqual([
      'Error: unknown protocol sctp',
      'Error: unknown protocol 132',
      'Error: unknown protocol any',
      'Error: unknown protocol icmp',
    ])
    // The six `$ calico-node …` prompt lines are noise.
    expect(r.noiseLines).toBe(10)
    expect(r.unknownLines).toBe(0)
  })

  it('Cilium conntrack lines are not mistaken for Calico ones', () => {
    for (const [name, n] of [
      ['cil-ct-1-cilium-40820.txt', 4],
      ['cil-ct-2-cilium-pr-43017.txt', 1],
    ] as const) {
      const r = parseConntrackText(fixture(name))
      expect(r.entries, name).toStrictEqual([])
      expect(r.unknownLines, name).toBe(n)
    }
  })

  it('LOG fixtures: ERROR lines are errors, INFO lines noise', () => {
    const r = parseConntrackText(fixture('log-1-calico-8428.txt') + fixture('log-2-calico-10748.txt'))
    expect(r.errors).toHaveLength(3)
    expect(r.errors[0]).toContain('BPF dataplane mode enabled but not supported by the kernel')
    expect(r.noiseLines).toBe(4)
    expect(r.unknownLines).toBe(0)
  })
})

describe('conntrack text: real output (tigera/docs troubleshoot-ebpf, v3.30+ pretty without Age:)', () => {
  it('reads the four plain lines; the two lines the docs annotated are unknown, not misread; the kubectl line is noise', () => {
    const r = parseConntrackText(fixture('ct-3-tigera-docs.txt'))
    expect(r.format).toBe('pretty')
    const show = (e: ConntrackEntry) => [e.proto, `${e.src.ip}:${e.src.port}`, e.origDst ? `${e.origDst.ip}:${e.origDst.port}` : '', `${e.dst.ip}:${e.dst.port}`, e.activeAgoSeconds, e.tcpState ?? '', e.type]
    expect(r.entries.map(show)).toStrictEqual([
      ['tcp', '192.168.58.7:42818', '10.111.57.87:80', '192.168.105.136:80', 75.987585857, 'CLOSED', 'nat-reverse'],
      ['tcp', '10.128.1.192:58208', '10.109.136.88:7443', '192.168.58.5:7443', 4.935017508, 'ESTABLISHED', 'nat-reverse'],
      ['udp', '162.142.125.240:30603', '', '10.128.1.192:18989', 60.816678617, '', 'normal'],
      ['udp', '127.0.0.1:48611', '', '127.0.0.53:53', 17.789851961, '', 'normal'],
    ])
    expect(r.unknownLines).toBe(2)
    expect(r.samples[0]).toContain('<--- example of connection to service with per-packet NAT')
    expect(r.noiseLines).toBe(1)
    expect(r.errors).toStrictEqual([])
  })
})

describe('conntrack text: Calico format strings', () => {
  it('v3.30+ pretty examples (§1.8)', () => {
    const r = parseConntrackText(fixture('doc-ct-pretty.txt'))
    expect(r.format).toBe('pretty')
    expect(r.entries).toStrictEqual([
      pretty('tcp', '10.65.0.2:40000', '10.65.1.3:8080', true, {activeAgoSeconds: 1.5, tcpState: 'ESTABLISHED'}),
      pretty('udp', '10.65.1.9:41234', '10.65.0.2:53', false, {activeAgoSeconds: 2.345}),
      pretty('tcp', '10.65.0.2:40001', '10.65.1.3:8080', true, {
        origDst: ep('10.96.0.10:80'),
        activeAgoSeconds: 3,
        tcpState: 'ESTABLISHED',
      }),
      pretty('tcp', '192.168.1.50:51000', '10.65.2.4:80', false, {
        origDst: ep('172.18.0.3:30080'),
        tunnelIp: '172.18.0.4',
        origSrcPort: 50999,
        activeAgoSeconds: 0.042,
        tcpState: 'RESET',
      }),
      pretty('icmp', '10.65.0.2:0', '8.8.8.8:0', true, {activeAgoSeconds: 61}),
      pretty('sctp', '10.65.0.2:5000', '10.65.0.9:5000', true, {activeAgoSeconds: 10}),
    ])
    expect(r.unknownLines).toBe(0)
  })

  it('IPv6 pretty lines split on the last colon; key order kept', () => {
    const r = parseConntrackText(fixture('doc-ct-pretty-v6.txt'))
    expect(r.entries).toStrictEqual([
      pretty('tcp', 'fd00:10:244::3:40000', 'fd00:10:244:1::4:8080', true, {
        activeAgoSeconds: 1.5,
        tcpState: 'ESTABLISHED',
      }),
    ])
  })

  it('raw examples (§1.9): key order, B-A, NAT forward/reverse, legs, flags from the hex', () => {
    const r = parseConntrackText(fixture('doc-ct-raw.txt'))
    expect(r.format).toBe('raw')
    const estA = leg(1234, 10, 67305985, 'SAPO', 7)
    const estB = leg(5678, 9, 0, 'SAP', 0)
    expect(r.entries).toStrictEqual([
      {
        proto: 'tcp',
        a: ep('10.65.0.2:40000'),
        b: ep('10.65.1.3:8080'),
        src: ep('10.65.0.2:40000'),
        dst: ep('10.65.1.3:8080'),
        type: 'normal',
        typeCode: 0,
        flags: [],
        flagBits: 0,
        lastSeenNs: '998500000000',
        legs: {ab: estA, ba: estB},
        activeAgoSeconds: 1.5,
        tcpState: 'ESTABLISHED',
      },
      {
        proto: 'tcp',
        a: ep('10.65.0.2:40001'),
        b: ep('10.96.0.10:80'),
        src: ep('10.65.0.2:40001'),
        dst: ep('10.96.0.10:80'),
        type: 'nat-forward',
        typeCode: 1,
        flags: [],
        flagBits: 0,
        lastSeenNs: '997000000000',
        natReverseKey: {proto: 'tcp', a: ep('10.65.0.2:40001'), b: ep('10.65.1.3:8080')},
        natSrcPort: 0,
        activeAgoSeconds: 3,
      },
      {
        proto: 'tcp',
        a: ep('10.65.0.2:40001'),
        b: ep('10.65.1.3:8080'),
        src: ep('10.65.0.2:40001'),
        dst: ep('10.65.1.3:8080'),
        type: 'nat-reverse',
        typeCode: 2,
        flags: [],
        flagBits: 0,
        lastSeenNs: '997000000000',
        legs: {ab: estA, ba: estB},
        origDst: ep('10.96.0.10:80'),
        activeAgoSeconds: 3,
        tcpState: 'ESTABLISHED',
      },
      {
        proto: 'tcp',
        a: ep('192.168.1.50:51000'),
        b: ep('10.65.2.4:80'),
        src: ep('192.168.1.50:51000'),
        dst: ep('10.65.2.4:80'),
        type: 'nat-reverse',
        typeCode: 2,
        flags: ['np-fwd', 'host-psnat'],
        flagBits: 0x204,
        lastSeenNs: '999958000000',
        legs: {ab: leg(0, 0, 0, 'SR', 0), ba: leg(0, 0, 0, 'SA', 0)},
        origDst: ep('172.18.0.3:30080'),
        origSrcPort: 50999,
        tunnelIp: '172.18.0.4',
        activeAgoSeconds: 0.042,
        tcpState: 'RESET',
      },
      {
        proto: 'udp',
        a: ep('10.65.0.2:53'),
        b: ep('10.65.1.9:41234'),
        src: ep('10.65.1.9:41234'),
        dst: ep('10.65.0.2:53'),
        type: 'normal',
        typeCode: 0,
        flags: ['B-A'],
        flagBits: 0x100,
        lastSeenNs: '997655000000',
        legs: {ab: leg(0, 0, 0, 'P', 0), ba: leg(0, 0, 0, 'PO', 0)},
        activeAgoSeconds: 2.345,
      },
      {
        proto: 'tcp',
        a: ep('fd00:10:244::3:40000'),
        b: ep('fd00:10:244:1::4:8080'),
        src: ep('fd00:10:244::3:40000'),
        dst: ep('fd00:10:244:1::4:8080'),
        type: 'normal',
        typeCode: 0,
        flags: [],
        flagBits: 0,
        lastSeenNs: '998500000000',
        legs: {ab: leg(0, 0, 0, 'SAPO', 12), ba: leg(0, 0, 0, 'SAP', 0)},
        activeAgoSeconds: 1.5,
        tcpState: 'ESTABLISHED',
      },
    ])
    expect(r.unknownLines).toBe(0)
  })

  it('≤ v3.23 raw: Created, Age, names-only flags, Whitelisted, `REVKey :` without NATSPort', () => {
    const r = parseConntrackText(fixture('fmt-ct-raw-v3.23.txt'))
    expect(r.format).toBe('raw-age')
    const v2leg = (seqno: number, bits: string, ifindex: number): CtLeg => ({
      seqno,
      syn: bits.includes('S'),
      ack: bits.includes('A'),
      fin: false,
      rst: false,
      approved: bits.includes('P'),
      opener: bits.includes('O'),
      ifindex,
    })
    expect(r.entries).toStrictEqual([
      {
        proto: 'tcp',
        a: ep('10.65.0.2:40000'),
        b: ep('10.65.1.3:8080'),
        src: ep('10.65.0.2:40000'),
        dst: ep('10.65.1.3:8080'),
        type: 'normal',
        typeCode: 0,
        flags: [],
        flagBits: 0,
        lastSeenNs: '998500000000',
        createdNs: '990000000000',
        legs: {ab: v2leg(67305985, 'SAPO', 7), ba: v2leg(0, 'SAP', 0)},
        ageSeconds: 10,
        activeAgoSeconds: 1.5,
        tcpState: 'ESTABLISHED',
      },
      {
        proto: 'tcp',
        a: ep('10.65.0.2:40001'),
        b: ep('10.96.0.10:80'),
        src: ep('10.65.0.2:40001'),
        dst: ep('10.96.0.10:80'),
        type: 'nat-forward',
        typeCode: 1,
        flags: ['nat-out'],
        flagBits: 1,
        lastSeenNs: '997000000000',
        createdNs: '996000000000',
        natReverseKey: {proto: 'tcp', a: ep('10.65.0.2:40001'), b: ep('10.65.1.3:8080')},
        ageSeconds: 4,
        activeAgoSeconds: 3,
      },
      {
        proto: 'udp',
        a: ep('10.65.0.2:53'),
        b: ep('10.65.1.9:41234'),
        src: ep('10.65.0.2:53'),
        dst: ep('10.65.1.9:41234'),
        type: 'normal',
        typeCode: 0,
        flags: ['np-fwd', 'skip-fib'],
        flagBits: 0xc,
        lastSeenNs: '997655000000',
        createdNs: '997000000000',
        legs: {ab: v2leg(0, 'P', 0), ba: v2leg(0, 'PO', 3)},
        ageSeconds: 3,
        activeAgoSeconds: 2.345,
      },
    ])
  })

  it('raw flag names are taken from the hex, not from the (buggy) printed names', () => {
    const line =
      'ConntrackKey{proto=6 fd00::1:1 <-> fd00::2:2} -> Entry{Type:0, LastSeen:1, Flags: 0x1000 np-remote no-dsr Data: {A2B:{Bytes:0 Packets:0 Seqno:0 SynSeen:false AckSeen:false FinSeen:false RstSeen:false Approved:false Opener:false Workload:false Ifindex:0} B2A:{Bytes:0 Packets:0 Seqno:0 SynSeen:false AckSeen:false FinSeen:false RstSeen:false Approved:false Opener:false Workload:false Ifindex:0} OrigDst::: OrigSrc::: OrigPort:0 OrigSPort:0 TunIP:::}} Active ago 1s SYN-SENT'
    const e = parseConntrackLine(line)!
    expect(e.flags).toStrictEqual(['np-remote'])
    expect(e.flagBits).toBe(0x1000)
    expect(e.tunnelIp).toBeUndefined()
    expect(e.origSrcIp).toBeUndefined()
    expect(e.tcpState).toBe('SYN-SENT')
  })

  it('UNKNOWN protocol (v3.28–v3.32.1), Proto-N (HEAD), ICMP6, normal entry with host-psnat', () => {
    const r = parseConntrackText(
      [
        'UNKNOWN 10.0.0.1:1 -> 10.0.0.2:2  Active ago 1s',
        'Proto-47 10.0.0.1:0 -> 10.0.0.2:0  Active ago 2s',
        'ICMP6 fd00::1:0 -> fd00::2:0  Active ago 3s',
        'TCP 10.0.0.1:1000 -> 10.0.0.2:80 source port changed from 999  Active ago 4s CLOSED',
      ].join('\n') + '\n',
    )
    expect(r.entries.map((e) => [e.proto, e.src.port, e.activeAgoSeconds, e.origSrcPort, e.tcpState])).toStrictEqual([
      ['unknown', 1, 1, undefined, undefined],
      [47, 0, 2, undefined, undefined],
      ['icmp6', 0, 3, undefined, undefined],
      ['tcp', 1000, 4, 999, 'CLOSED'],
    ])
  })
})

describe('conntrack text: noise and streaming', () => {
  it('tabs as spaces, kubectl and log noise, a pretty line of an unknown type, a cut-off last line', () => {
    const text = [
      'Defaulted container "calico-node" out of: calico-node, install-cni (init)',
      '2026-11-30 10:00:00.123 [WARNING][1] felix/x.go 1: something',
      'TCP    10.0.0.1:1    ->    10.0.0.2:2      Active ago 1s    ESTABLISHED',
      ' Active ago 5s',
      '--',
      'TCP 10.0.0.1:3 -> 10.0.0.2:4  Active a',
    ].join('\n')
    const r = parseConntrackText(text)
    expect(r.entries).toHaveLength(1)
    expect(r.entries[0]!.tcpState).toBe('ESTABLISHED')
    expect(r.unknownLines).toBe(1)
    expect(r.samples).toStrictEqual([' Active ago 5s', 'TCP 10.0.0.1:3 -> 10.0.0.2:4  Active a'])
    expect(r.noiseLines).toBe(3)
    expect(r.truncatedLastLine).toBe(true)
  })

  it('write() in arbitrary chunks gives the same result as the whole text', () => {
    const text = fixture('doc-ct-raw.txt') + fixture('ct-1-calico-pr-8749.txt')
    const whole = parseConntrackText(text)
    for (const size of [1, 7, 64, 1000]) {
      const p = new ConntrackTextParser()
      for (let i = 0; i < text.length; i += size) p.write(text.slice(i, i + size))
      const r = p.result()
      expect(r.entries).toStrictEqual(whole.entries)
      expect(r.format).toBe('mixed')
    }
  })

  it('a callback receives entries instead of collecting them', () => {
    const got: string[] = []
    const p = new ConntrackTextParser((e) => got.push(e.src.ip))
    p.write(fixture('doc-ct-pretty.txt'))
    expect(p.result().entries).toStrictEqual([])
    expect(got).toStrictEqual(['10.65.0.2', '10.65.1.9', '10.65.0.2', '192.168.1.50', '10.65.0.2', '10.65.0.2'])
  })
})

describe('TCP states and flag names', () => {
  const L = (s: string): CtLeg => ({
    syn: s.includes('S'),
    ack: s.includes('A'),
    fin: s.includes('F'),
    rst: s.includes('R'),
  })
  it.each([
    ['SA', 'SA', 0, 'ESTABLISHED'],
    ['S', 'SA', 0, 'SYN-SENT'],
    ['SA', 'S', 0, 'SYN-SENT'],
    ['', '', 0, 'SYN-SENT'],
    ['SAR', 'SA', 0, 'RESET'],
    ['SA', 'SAR', 0, 'RESET'],
    ['SAF', 'SAF', 0, 'CLOSED'],
    ['SAF', 'SA', 0, 'ESTABLISHED'],
    ['SAF', 'SA', 0x2, 'CLOSED'], // fwd-dsr: either FIN
    ['SAFR', 'SAF', 0, 'CLOSED'], // CLOSED wins over RESET
    ['SAR', 'SAF', 0x2, 'CLOSED'],
  ] as const)('a2b %s b2a %s flags %i → %s', (ab, ba, flags, state) => {
    expect(tcpStateOf(L(ab), L(ba), flags)).toBe(state)
  })

  it('every CT flag bit has its name; unknown bits as hex', () => {
    expect(ctFlagNames(0x3fffff)).toStrictEqual([
      'nat-out',
      'fwd-dsr',
      'np-fwd',
      'skip-fib',
      'ext-local',
      'via-nat-iface',
      'B-A',
      'host-psnat',
      'svc-self',
      'np-loop',
      'np-remote',
      'no-dsr',
      'no-redir-peer',
      'dscp',
      'maglev',
      'send-rst',
      'connlimit-in',
      'connlimit-in-rej',
      'connlimit-out',
      'connlimit-dec',
      '0x10',
      '0x20',
    ])
    expect(ctFlagNames(0x80000000)).toStrictEqual(['0x80000000'])
    expect(ctFlagNames(0)).toStrictEqual([])
  })
})

describe('conntrack stats text', () => {
  it('parses every counter', () => {
    const r = parseConntrackStatsText(fixture('fmt-ct-stats.txt'))
    expect(r.entries).toStrictEqual([
      {
        mapSize: 512000,
        totalConnections: 6,
        totalEntries: 8,
        natConnections: 2,
        tcp: 4,
        udp: 1,
        others: 1,
        tcpEstablished: 3,
        tcpClosed: 0,
        tcpReset: 1,
        tcpSynSent: 0,
      },
    ])
    expect(r.unknownLines).toBe(0)
  })
})

describe('pretty fast path ≡ regex path', () => {
  it('random pretty lines parse identically through both paths', async () => {
    const {default: fc} = await import('fast-check')
    const {parseConntrackLineRegex} = await import('../../../src/lib/maps/ct-text.js')
    // Octets sometimes with a leading zero (never printed by Go, but must not confuse the fast path's string cache).
    const octet = fc.oneof(fc.nat(255).map(String), fc.nat(99).map((n) => `0${n}`))
    const ip4 = fc.tuple(octet, octet, octet, octet).map((p) => p.join('.'))
    const ip6 = fc.constantFrom('fd00:10:244::3', 'fd00::1', '2001:db8:1::a', '::ffff:10.0.0.1')
    const hp = fc.tuple(fc.oneof(ip4, ip6), fc.nat(65535)).map(([ip, port]) => `${ip}:${port}`)
    const sp = fc.constantFrom(' ', '  ', '   ')
    const dur = fc.oneof(
      fc.constantFrom('1.5s', '42ms', '1m1s', '0s', '493.47131ms', '1h2m3.456789012s', '12µs', '7μs', '-1.5s', '1.s'),
      goDuration(fc),
    )
    fc.assert(
      fc.property(
        fc.constantFrom('TCP', 'UDP', 'ICMP', 'ICMP6', 'SCTP', 'UNKNOWN', 'Proto-47'),
        hp,
        hp,
        fc.option(hp, {nil: undefined}),
        fc.option(ip4, {nil: undefined}),
        fc.option(fc.nat(65535), {nil: undefined}),
        fc.option(dur, {nil: undefined}),
        dur,
        fc.option(fc.constantFrom('ESTABLISHED', 'SYN-SENT', 'CLOSED', 'RESET', 'BOGUS'), {nil: undefined}),
        sp,
        fc.constantFrom('', '    '),
        (proto, a, b, c, tun, sport, age, ago, state, s, indent) => {
          let line = `${indent}${proto}${s}${a}${s}->${s}${b}`
          if (c) line += `${s}->${s}${c}`
          if (tun) line += ` external client, service forwarded to/from ${tun}`
          if (sport !== undefined) line += ` source port changed from ${sport}`
          line += ' '
          if (age) line += ` Age: ${age}`
          line += ` Active ago ${ago}`
          if (state) line += ` ${state}`
          expect(parseConntrackLine(line)).toStrictEqual(parseConntrackLineRegex(line))
        },
      ),
      {numRuns: 1000},
    )
  })
})

/** Go `Duration.String()`-shaped text: `1h2m3.5s`, `493.47131ms`, `12.5µs`, `800ns`, and shapes Go never prints. */
function goDuration(fc: typeof import('fast-check').default) {
  const num = fc
    .tuple(fc.nat(99999), fc.option(fc.stringMatching(/^[0-9]{1,12}$/), {nil: undefined}))
    .map(([i, f]) => (f === undefined ? `${i}` : `${i}.${f}`))
  const part = fc.tuple(num, fc.constantFrom('h', 'm', 's', 'ms', 'us', 'µs', 'μs', 'ns')).map(([n, u]) => n + u)
  return fc.array(part, {minLength: 1, maxLength: 3}).map((ps) => ps.join(''))
}

describe('ConntrackTextParser over bytes', () => {
  it('keeps each address exactly as printed, even when two spellings have the same value', () => {
    const r = parseConntrackText(
      'TCP 10.1.2.3:1 -> 10.0.0.9:2  Active ago 1s\nTCP 010.1.2.3:1 -> 10.0.0.9:2  Active ago 1s\nTCP 10.1.2.3:1 -> 10.0.0.9:2  Active ago 1s\n',
    )
    expect(r.entries.map((e) => e.src.ip)).toStrictEqual(['10.1.2.3', '010.1.2.3', '10.1.2.3'])
  })

  it('gives the same entries whatever the chunking, for text and bytes', async () => {
    const {default: fc} = await import('fast-check')
    const lines = [
      'TCP 10.65.0.5:40000 -> 10.96.0.1:443 -> 10.65.1.2:6443  Active ago 1m2.5s ESTABLISHED',
      'UDP 10.65.0.5:5353 -> 10.96.0.10:53  Active ago 12µs',
      'ConntrackKey{proto=6 10.0.0.1:1 <-> 10.0.0.2:2} -> Entry{Type:0, Created:1, LastSeen:2, Flags: <none> Data: {A2B:{Bytes:1 Packets:1} B2A:{Bytes:2 Packets:2} OrigDst:<nil> OrigPort:0 OrigSPort:0 TunIP:<nil>}} Active ago 1s',
      '2024-01-01 00:00:00.000 [INFO][1] some log line',
      'TCP fd00:10:244::3:40000 -> fd00:10:96::1:443  Active ago 5ms CLOSED',
      'not a conntrack line',
    ]
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...lines), {minLength: 1, maxLength: 12}),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.array(fc.nat(40), {minLength: 1, maxLength: 20}),
        fc.boolean(),
        (picked, eol, finalNewline, cuts, asBytes) => {
          const text = picked.join(eol) + (finalNewline ? eol : '')
          const whole = parseConntrackText(text)
          const p = new ConntrackTextParser()
          const input: string | Buffer = asBytes ? Buffer.from(text) : text
          let at = 0
          for (let k = 0; at < input.length; k++) {
            const n = cuts[k % cuts.length]! + 1
            p.write(input.slice(at, at + n) as string & Buffer)
            at += n
          }
          const chunked = p.result()
          expect(chunked).toStrictEqual(whole)
        },
      ),
      {numRuns: 500},
    )
  })

  it('decodes UTF-8 split across chunks (µs) and Readable streams', async () => {
    const {Readable} = await import('node:stream')
    const text = 'UDP 10.0.0.1:1 -> 10.0.0.2:2  Active ago 12µs\nTCP 10.0.0.1:3 -> 10.0.0.2:4  Active ago 1s CLOSED\n'
    const bytes = Buffer.from(text)
    const p = new ConntrackTextParser()
    for await (const chunk of Readable.from(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))))
      p.write(chunk as Buffer)
    const r = p.result()
    expect(r.entries.map((e) => e.activeAgoSeconds)).toStrictEqual([0.000012, 1])
    expect(r.unknownLines).toBe(0)
  })
})

describe('in-place duration reading on the fast path', () => {
  it('equals parseGoDuration for random Go durations of every unit', async () => {
    const {default: fc} = await import('fast-check')
    const {parseGoDuration} = await import('../../../src/lib/maps/agent-lines.js')
    fc.assert(
      fc.property(goDuration(fc), (d) => {
        const e = parseConntrackLine(`UDP 10.0.0.1:1 -> 10.0.0.2:2  Active ago ${d}`)
        expect(e?.activeAgoSeconds).toBe(parseGoDuration(d))
      }),
      {numRuns: 3000},
    )
  })

  it('equals parseGoDuration for random s/ms durations', async () => {
    const {default: fc} = await import('fast-check')
    const {parseGoDuration} = await import('../../../src/lib/maps/agent-lines.js')
    fc.assert(
      fc.property(
        fc.nat(999999),
        fc.option(fc.stringMatching(/^[0-9]{1,9}$/), {nil: undefined}),
        fc.constantFrom('s', 'ms'),
        (int, frac, unit) => {
          const d = `${int}${frac === undefined ? '' : `.${frac}`}${unit}`
          const e = parseConntrackLine(`UDP 10.0.0.1:1 -> 10.0.0.2:2  Active ago ${d}`)
          expect(e?.activeAgoSeconds).toBe(parseGoDuration(d))
        },
      ),
      {numRuns: 2000},
    )
  })
})
