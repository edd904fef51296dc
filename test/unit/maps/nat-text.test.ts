import {describe, expect, it} from 'vitest'

import {parseNatAffinityText, parseNatDumpText} from '../../../src/lib/maps/nat-text.js'
import {fe, fixture, nat1ByNode} from './helpers.js'

describe('nat dump text: real outputs (peers.md §5)', () => {
  it('NAT-1: three 10.96.0.1:443 frontends with the listed backends, kubectl noise skipped', () => {
    const r = parseNatDumpText(fixture('nat-1-calico-13279.txt'))
    expect(r.entries).toStrictEqual([
      fe('10.96.0.1', 443, 'tcp', 0, 3, 0, ['10.0.0.20:6443', '10.0.0.21:6443', '10.0.0.22:6443']),
      fe('10.96.0.1', 443, 'tcp', 0, 3, 0, ['172.30.171.71:7443', '10.0.0.21:6443', '10.0.0.22:6443']),
      fe('10.96.0.1', 443, 'tcp', 0, 3, 0, ['10.0.0.10:9093', '10.0.0.11:9093', '10.0.0.22:9093']),
    ])
    expect(r.unknownLines).toBe(0)
    expect(r.noiseLines).toBe(6) // 3 echoed kubectl commands + 3 "Defaulted container" lines
    expect(r.errors).toStrictEqual([])
    expect(r.truncatedLastLine).toBe(false)
  })

  it('NAT-7 (tigera/docs troubleshoot-ebpf, v3.30+): eight frontends, backends indented by a tab and two spaces, the kubectl line is noise', () => {
    const r = parseNatDumpText(fixture('nat-7-tigera-docs.txt'))
    expect(r.entries).toStrictEqual([
      fe('10.96.0.10', 53, 'tcp', 4, 2, 0, ['192.168.129.66:53', '192.168.129.68:53']),
      fe('10.96.0.10', 53, 'udp', 6, 2, 0, ['192.168.129.66:53', '192.168.129.68:53']),
      fe('10.96.0.10', 9153, 'tcp', 5, 2, 0, ['192.168.129.66:9153', '192.168.129.68:9153']),
      fe('10.105.77.92', 5473, 'tcp', 0, 2, 0, ['10.128.1.192:5473', '10.128.1.195:5473']),
      fe('10.105.187.231', 8081, 'tcp', 2, 1, 0, ['192.168.105.131:8081']),
      fe('10.109.136.88', 7443, 'tcp', 1, 1, 0, ['192.168.129.72:7443']),
      fe('10.109.139.39', 443, 'tcp', 7, 2, 0, ['192.168.129.67:5443', '192.168.129.69:5443']),
      fe('10.96.0.1', 443, 'tcp', 3, 1, 0, ['10.128.0.255:6443']),
    ])
    expect(r.unknownLines).toBe(0)
    expect(r.noiseLines).toBe(1)
    expect(r.errors).toStrictEqual([])
  })

  it('NAT-8 (tigera/docs Maglev how-to, v3.32+): `flags maglev`, local 1, the tab turned into spaces', () => {
    const r = parseNatDumpText(fixture('nat-8-docs-maglev.txt'))
    expect(r.entries).toStrictEqual([
      fe('10.101.205.28', 80, 'tcp', 7, 4, 1, ['192.168.95.210:9000', '192.168.163.6:9000', '192.168.221.69:9000', '192.168.28.136:9000'], {flags: ['maglev']}),
    ])
    expect(r.unknownLines).toBe(0)
    expect(r.noiseLines).toBe(0)
    expect(r.truncatedLastLine).toBe(false)
  })

  it('NAT-1 per node', () => {
    const byNode = nat1ByNode()
    expect(Object.keys(byNode)).toStrictEqual(['calico-node-jbrqr', 'calico-node-2hb8w', 'calico-node-fg4f5'])
    const r = parseNatDumpText(byNode['calico-node-2hb8w']!)
    expect(r.entries).toStrictEqual([
      fe('10.96.0.1', 443, 'tcp', 0, 3, 0, ['172.30.171.71:7443', '10.0.0.21:6443', '10.0.0.22:6443']),
    ])
  })

  it('NAT-2: grep separators, leading spaces, external-local, cut-off count-1 frontends, the date line', () => {
    const r = parseNatDumpText(fixture('nat-2-calico-13279-comment.txt'))
    expect(r.entries).toStrictEqual([
      fe('10.100.93.211', 443, 'tcp', 55, 3, 0, ['172.30.155.20:10443', '172.30.55.130:10443', '172.30.70.213:10443']),
      fe('10.193.248.21', 31350, 'tcp', 41, 3, 0, ['172.30.155.20:10993'], {
        flags: ['external-local'],
        truncated: true,
      }),
      fe('10.96.8.173', 80, 'tcp', 308, 4, 0, [
        '172.30.209.151:80',
        '172.30.209.177:80',
        '172.30.55.187:80',
        '172.30.70.228:80',
      ]),
      fe('10.96.100.230', 443, 'tcp', 83, 1, 0, [], {truncated: true}),
      fe('10.96.0.1', 443, 'tcp', 0, 4, 0, [
        '172.30.26.146:6789',
        '10.0.0.21:6443',
        '10.0.0.22:6443',
        '10.0.0.23:6443',
      ]),
      fe('10.104.12.18', 7867, 'tcp', 26, 1, 0, [], {truncated: true}),
    ])
    // `jeu. 30 juil. 2026 11:59:57 CEST` (output of `date`) is the one unknown line.
    expect(r.unknownLines).toBe(1)
    expect(r.samples).toStrictEqual(['jeu. 30 juil. 2026 11:59:57 CEST'])
    // The prompt+command line, "Defaulted container", two `--`.
    expect(r.noiseLines).toBe(4)
    expect(r.errors).toStrictEqual([])
  })

  it('NAT-5: multi-flag frontends, 255.255.255.255 NodePorts, local counts, shared ids', () => {
    const r = parseNatDumpText(fixture('nat-5-calico-8255.txt'))
    expect(r.entries).toStrictEqual([
      fe('10.98.0.16', 6379, 'tcp', 55, 1, 0, ['10.200.130.158:6379'], {flags: ['external-local', 'internal-local']}),
      fe('10.98.0.21', 30979, 'tcp', 24, 1, 0, ['10.97.0.19:8983']),
      fe('10.98.0.21', 31261, 'tcp', 17, 1, 0, ['10.200.23.5:8443']),
      fe('10.210.95.96', 443, 'tcp', 3, 2, 0, ['10.200.10.197:5443', '10.200.10.198:5443']),
      fe('10.210.122.152', 8080, 'tcp', 30, 1, 1, ['10.200.85.84:8080']),
      fe('255.255.255.255', 30757, 'tcp', 23, 1, 0, ['10.97.0.18:8983']),
      fe('255.255.255.255', 30664, 'tcp', 27, 1, 1, ['10.200.85.81:8983']),
      fe('255.255.255.255', 31998, 'tcp', 35, 1, 1, ['10.200.85.84:9000']),
      fe('10.98.0.11', 9090, 'tcp', 45, 2, 1, ['10.200.85.88:9090', '10.200.130.154:9090']),
      fe('10.210.32.164', 8983, 'tcp', 24, 1, 0, ['10.97.0.19:8983']),
      fe('10.210.123.102', 6379, 'tcp', 55, 1, 0, ['10.200.130.158:6379']),
      fe('10.210.237.70', 3300, 'tcp', 7, 1, 0, ['10.200.23.4:3300']),
      fe('255.255.255.255', 31078, 'tcp', 25, 1, 1, ['10.200.85.84:1024']),
      fe('255.255.255.255', 30620, 'tcp', 43, 2, 1, ['10.200.85.88:8080', '10.200.130.154:8080']),
    ])
    expect(r.unknownLines).toBe(0)
    expect(r.noiseLines).toBe(0)
  })

  it('NAT-6: an indented frontend line alone (its backend cut off)', () => {
    const r = parseNatDumpText(fixture('nat-6-calico-7252.txt'))
    expect(r.entries).toStrictEqual([fe('10.101.0.10', 80, 'tcp', 1, 1, 0, [], {truncated: true})])
    expect(r.unknownLines).toBe(0)
  })
})

describe('nat dump text: Calico format strings (calico-bpf.md §1.2–§1.4)', () => {
  it('HEAD examples: missing backend, local, flags, src range, blackhole', () => {
    const r = parseNatDumpText(fixture('doc-nat-dump-head.txt'))
    expect(r.entries).toStrictEqual([
      fe('1.1.1.1', 80, 'tcp', 35, 2, 0, ['5.5.5.5:8080', '6.6.6.6:8080']),
      fe('2.1.1.1', 553, 'udp', 107, 1, 0, [], {missingBackends: 1, missingOrdinals: [0]}),
      fe('3.1.1.1', 553, 'udp', 108, 1, 0, ['3.3.3.3:553']),
      fe('10.96.0.1', 443, 'tcp', 7, 1, 1, ['10.65.0.2:8443']),
      fe('172.18.0.3', 30080, 'tcp', 9, 2, 1, [], {flags: ['external-local'], truncated: true}),
      fe('172.18.0.100', 80, 'tcp', 12, 0, 0, [], {
        flags: ['external-local', 'internal-local'],
        srcRange: '192.168.0.0/16',
      }),
      fe('172.18.0.100', 80, 'tcp', 12, -1, 0, [], {blackhole: true}),
      fe('10.96.0.10', 53, 'udp', 3, 0, 0, [], {flags: ['nat-exclude', 'maglev']}),
    ])
    expect(r.unknownLines).toBe(0)
    expect(r.noiseLines).toBe(0)
  })

  it('IPv6: unbracketed frontend, bracketed backend', () => {
    const r = parseNatDumpText(fixture('doc-nat-dump-v6.txt'))
    expect(r.entries).toStrictEqual([fe('fd00:96::a', 53, 'udp', 4, 1, 0, ['[fd00:10:244::5]:53'])])
  })

  it('--group-by-service: backends printed once attach to every frontend of the group', () => {
    const r = parseNatDumpText(fixture('doc-nat-dump-grouped.txt'))
    expect(r.entries).toStrictEqual([
      fe('1.1.1.1', 80, 'tcp', 35, 2, 0, ['5.5.5.5:8080', '6.6.6.6:8080']),
      fe('10.0.0.1', 80, 'tcp', 35, 2, 0, ['5.5.5.5:8080', '6.6.6.6:8080']),
      fe('2.1.1.1', 553, 'udp', 107, 1, 0, ['7.7.7.7:553']),
    ])
    const flat = parseNatDumpText(fixture('doc-nat-dump-grouped.txt'), {grouped: false})
    expect(flat.entries[0]).toStrictEqual(fe('1.1.1.1', 80, 'tcp', 35, 2, 0, [], {truncated: true}))
    expect(flat.entries[1]!.backends).toHaveLength(2)
  })

  it('v3.27.0 backend form `ip : port`', () => {
    const r = parseNatDumpText(fixture('fmt-nat-dump-v3.27.0.txt'))
    expect(r.entries).toStrictEqual([
      fe('10.96.0.1', 443, 'tcp', 7, 2, 0, ['10.65.0.2:8443', '10.65.0.3:8443']),
      fe('10.96.0.10', 53, 'udp', 3, 1, 1, ['10.65.0.5:53'], {flags: ['internal-local']}),
    ])
    expect(r.unknownLines).toBe(0)
  })

  it('≤ v3.26 blackhole: count 4294967295 → -1, the endless "is missing" lines are absorbed', () => {
    const r = parseNatDumpText(fixture('fmt-nat-dump-v3.20-blackhole.txt'))
    expect(r.entries).toStrictEqual([
      fe('10.96.0.10', 53, 'udp', 3, 1, 0, ['10.65.0.5:53']),
      fe('172.18.0.100', 80, 'tcp', 12, -1, 0, [], {blackhole: true}),
    ])
    expect(r.noiseLines).toBe(3)
    expect(r.unknownLines).toBe(0)
  })

  it('v3.26.0–4 flags bug: stray ", " separators are dropped', () => {
    const r = parseNatDumpText(fixture('fmt-nat-dump-v3.26-flagbug.txt'))
    expect(r.entries).toStrictEqual([
      fe('10.96.0.50', 80, 'tcp', 20, 1, 1, ['10.65.0.9:8080'], {flags: ['internal-local']}),
      fe('10.96.0.51', 80, 'tcp', 21, 0, 0, [], {flags: ['nat-exclude']}),
    ])
  })
})

describe('nat dump text: noise tolerance', () => {
  it('prompts, config-file line, log lines, leading spaces, tabs as spaces, --, CRLF, unknown line, cut-off last line', () => {
    const r = parseNatDumpText(fixture('fmt-nat-dump-noisy.txt'))
    expect(r.entries).toStrictEqual([
      fe('10.96.0.1', 443, 'tcp', 0, 2, 0, ['10.0.0.20:6443', '10.0.0.21:6443']),
      fe('10.96.0.10', 53, 'udp', 3, 2, 0, ['10.65.0.5:53', '10.65.0.6:53']),
    ])
    expect(r.unknownLines).toBe(1)
    expect(r.samples).toStrictEqual(['this line is not calico output', '10.96.0.20 port 80 proto 6 id 9 count 1 loc'])
    // $ command, Using config file, Defaulted, [INFO] line, level=info line, --, root@node1 prompt
    expect(r.noiseLines).toBe(7)
    expect(r.truncatedLastLine).toBe(true)
    expect(r.errors).toStrictEqual([])
  })

  it('error log lines are collected as errors (both log formats)', () => {
    const a = parseNatDumpText(fixture('fmt-agent-errors.txt'))
    const b = parseNatDumpText(fixture('fmt-agent-errors-v3.29.txt'))
    expect(a.entries).toStrictEqual([])
    expect(a.errors).toStrictEqual([fixture('fmt-agent-errors.txt').trim()])
    expect(b.errors).toStrictEqual([fixture('fmt-agent-errors-v3.29.txt').trim()])
    expect(a.unknownLines + b.unknownLines).toBe(0)
  })

  it('an orphan backend line is an error, not an entry', () => {
    const r = parseNatDumpText('\t5:0\t 1.2.3.4:80\n')
    expect(r.entries).toStrictEqual([])
    expect(r.errors).toStrictEqual(['backend line without its frontend: 5:0\t 1.2.3.4:80'])
  })

  it('a backend of another id does not attach to the current frontend', () => {
    const r = parseNatDumpText('10.0.0.1 port 80 proto 6 id 1 count 1 local 0\n\t2:0\t 1.2.3.4:80\n')
    expect(r.entries).toStrictEqual([fe('10.0.0.1', 80, 'tcp', 1, 1, 0, [], {truncated: true})])
    expect(r.errors).toHaveLength(1)
  })

  it('SCTP and unknown protocol numbers', () => {
    const r = parseNatDumpText(
      '10.0.0.1 port 9 proto 132 id 1 count 0 local 0\n10.0.0.2 port 9 proto 99 id 2 count 0 local 0\n',
    )
    expect(r.entries.map((e) => e.proto)).toStrictEqual(['sctp', 99])
  })

  it('Cilium and kubeadm outputs produce no entries and are counted as unknown', () => {
    for (const [name, unknown] of [
      ['cil-lb-1-cilium-pr-31503.txt', 9],
      ['cil-lb-2-cilium-3905.txt', 11],
      ['cil-svc-1-cilium-pr-44301.txt', 11],
      ['kadm-1-kubeadm.txt', 5],
      ['log-3-calico-6907.txt', 0],
      ['cm-1-kubespray-9733.txt', CM1_UNKNOWN],
    ] as const) {
      const r = parseNatDumpText(fixture(name))
      expect(r.entries, name).toStrictEqual([])
      expect(r.unknownLines, name).toBe(unknown)
    }
  })
})

// CM-1: header + node row of `kubectl get nodes`, and the ConfigMap YAML lines (the two prompt lines are noise).
const CM1_UNKNOWN = 16

describe('nat aff text', () => {
  it('old AffinityKey form and v3.31.7+ client form, v4 and v6', () => {
    const r = parseNatAffinityText(fixture('doc-nat-aff.txt'))
    expect(r.entries).toStrictEqual([
      {
        clientIp: '10.0.0.1',
        frontend: {ip: '1.1.1.1', port: 80, proto: 'tcp'},
        backend: {ip: '5.5.5.5', port: 8080},
        timestampNs: '3723456789012',
      },
      {
        clientIp: '10.0.0.1',
        frontend: {ip: '1.1.1.1', port: 80, proto: 'tcp'},
        backend: {ip: '5.5.5.5', port: 8080},
        timestampNs: '3723456789012',
      },
      {
        clientIp: 'fd00::1',
        frontend: {ip: 'fd00:96::a', port: 53, proto: 'udp'},
        backend: {ip: 'fd00:10:244::5', port: 53},
        timestampNs: '987654321',
      },
    ])
    expect(r.unknownLines).toBe(0)
  })

  it('v3.23 prints entries without newlines: several on one line', () => {
    const one =
      'AffinityKey{ClientIP:10.0.0.1 FrontEndAffinityKey{Proto:6 Addr:1.1.1.1 Port:80}}     AffinityValue{Timestamp:5,Backend:NATBackendValue{Addr:5.5.5.5 Port:8080}}'
    const two = one.replace('10.0.0.1', '10.0.0.2').replace('Timestamp:5', 'Timestamp:6')
    const r = parseNatAffinityText(`${one}${two}\n`)
    expect(r.entries.map((e) => [e.clientIp, e.timestampNs])).toStrictEqual([
      ['10.0.0.1', '5'],
      ['10.0.0.2', '6'],
    ])
  })
})
