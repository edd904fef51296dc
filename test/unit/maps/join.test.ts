import {describe, expect, it} from 'vitest'

import {parseConntrackText} from '../../../src/lib/maps/ct-text.js'
import {parseNatDumpText} from '../../../src/lib/maps/nat-text.js'
import {
  compareNodes,
  detectDrift,
  joinFrontends,
  type K8sEndpointSlice,
  type K8sService,
} from '../../../src/lib/maps/join.js'
import {frontendKey} from '../../../src/lib/maps/model.js'
import {conntrackStats, ConntrackStatsAccumulator} from '../../../src/lib/maps/stats.js'
import {fixture, nat1ByNode} from './helpers.js'

const kubernetesSvc: K8sService = {
  metadata: {name: 'kubernetes', namespace: 'default'},
  spec: {
    type: 'ClusterIP',
    clusterIP: '10.96.0.1',
    clusterIPs: ['10.96.0.1'],
    ports: [{name: 'https', port: 443, protocol: 'TCP', targetPort: 6443}],
  },
}
const kubernetesSlice: K8sEndpointSlice = {
  metadata: {name: 'kubernetes', namespace: 'default', labels: {'kubernetes.io/service-name': 'kubernetes'}},
  addressType: 'IPv4',
  endpoints: [
    {addresses: ['10.0.0.20'], conditions: {ready: true}},
    {addresses: ['10.0.0.21'], conditions: {ready: true}},
    {addresses: ['10.0.0.22']},
  ],
  ports: [{name: 'https', port: 6443, protocol: 'TCP'}],
}

function nat1Nodes(complete = false) {
  return Object.entries(nat1ByNode()).map(([node, text]) => ({
    node,
    frontends: parseNatDumpText(text).entries,
    complete,
  }))
}

describe('drift on NAT-1 (projectcalico/calico#13279)', () => {
  it('finds the cross-node disagreement and the stale/missing backends per node', () => {
    const findings = detectDrift({nodes: nat1Nodes(), services: [kubernetesSvc], endpointSlices: [kubernetesSlice]})
    const expected = ['10.0.0.20:6443', '10.0.0.21:6443', '10.0.0.22:6443']
    expect(findings).toStrictEqual([
      {
        kind: 'node-disagreement',
        frontend: '10.96.0.1:443/tcp',
        service: 'default/kubernetes:https',
        nodes: ['calico-node-2hb8w', 'calico-node-fg4f5', 'calico-node-jbrqr'],
        byNode: {
          'calico-node-jbrqr': ['10.0.0.20:6443', '10.0.0.21:6443', '10.0.0.22:6443'],
          'calico-node-2hb8w': ['10.0.0.21:6443', '10.0.0.22:6443', '172.30.171.71:7443'],
          'calico-node-fg4f5': ['10.0.0.10:9093', '10.0.0.11:9093', '10.0.0.22:9093'],
        },
        message: '10.96.0.1:443/tcp has different backends on calico-node-2hb8w, calico-node-fg4f5, calico-node-jbrqr',
      },
      {
        kind: 'stale-backend',
        frontend: '10.96.0.1:443/tcp',
        service: 'default/kubernetes:https',
        node: 'calico-node-2hb8w',
        expected,
        actual: ['10.0.0.21:6443', '10.0.0.22:6443', '172.30.171.71:7443'],
        backends: ['172.30.171.71:7443'],
        message:
          '10.96.0.1:443/tcp (default/kubernetes:https) on calico-node-2hb8w has backends not in its EndpointSlices: 172.30.171.71:7443',
      },
      {
        kind: 'stale-backend',
        frontend: '10.96.0.1:443/tcp',
        service: 'default/kubernetes:https',
        node: 'calico-node-fg4f5',
        expected,
        actual: ['10.0.0.10:9093', '10.0.0.11:9093', '10.0.0.22:9093'],
        backends: ['10.0.0.10:9093', '10.0.0.11:9093', '10.0.0.22:9093'],
        message:
          '10.96.0.1:443/tcp (default/kubernetes:https) on calico-node-fg4f5 has backends not in its EndpointSlices: 10.0.0.10:9093, 10.0.0.11:9093, 10.0.0.22:9093',
      },
      {
        kind: 'missing-backend',
        frontend: '10.96.0.1:443/tcp',
        service: 'default/kubernetes:https',
        node: 'calico-node-2hb8w',
        expected,
        actual: ['10.0.0.21:6443', '10.0.0.22:6443', '172.30.171.71:7443'],
        backends: ['10.0.0.20:6443'],
        message: '10.96.0.1:443/tcp (default/kubernetes:https) on calico-node-2hb8w lacks endpoints: 10.0.0.20:6443',
      },
      {
        kind: 'missing-backend',
        frontend: '10.96.0.1:443/tcp',
        service: 'default/kubernetes:https',
        node: 'calico-node-fg4f5',
        expected,
        actual: ['10.0.0.10:9093', '10.0.0.11:9093', '10.0.0.22:9093'],
        backends: expected,
        message:
          '10.96.0.1:443/tcp (default/kubernetes:https) on calico-node-fg4f5 lacks endpoints: 10.0.0.20:6443, 10.0.0.21:6443, 10.0.0.22:6443',
      },
    ])
  })

  it('without Kubernetes objects only the cross-node comparison runs', () => {
    const findings = detectDrift({nodes: nat1Nodes()})
    expect(findings.map((f) => [f.kind, f.frontend, f.nodes])).toStrictEqual([
      ['node-disagreement', '10.96.0.1:443/tcp', ['calico-node-2hb8w', 'calico-node-fg4f5', 'calico-node-jbrqr']],
    ])
    expect(findings[0]!.service).toBeUndefined()
    expect(compareNodes(nat1Nodes())).toHaveLength(1)
  })

  it('agreeing nodes and truncated frontends produce no finding; order of backends does not matter', () => {
    const a = parseNatDumpText(
      '10.96.0.1 port 443 proto 6 id 0 count 2 local 0\n\t0:0\t 10.0.0.20:6443\n\t0:1\t 10.0.0.21:6443\n',
    ).entries
    const b = parseNatDumpText(
      '10.96.0.1 port 443 proto 6 id 5 count 2 local 1\n\t5:0\t 10.0.0.21:6443\n\t5:1\t 10.0.0.20:6443\n',
    ).entries
    const c = parseNatDumpText('10.96.0.1 port 443 proto 6 id 0 count 2 local 0\n\t0:0\t 10.9.9.9:1\n').entries
    expect(c[0]!.truncated).toBe(true)
    expect(
      compareNodes([
        {node: 'a', frontends: a},
        {node: 'b', frontends: b},
        {node: 'c', frontends: c},
      ]),
    ).toStrictEqual([])
  })

  it('a complete dump missing a Service ClusterIP reports missing-service; an "is missing" ordinal a backend-hole', () => {
    const dump = parseNatDumpText(fixture('doc-nat-dump-head.txt')).entries
    const findings = detectDrift({
      nodes: [{node: 'n1', frontends: dump}],
      services: [kubernetesSvc],
      endpointSlices: [kubernetesSlice],
    })
    const kinds = findings.map((f) => [f.kind, f.frontend, f.backends ?? null])
    expect(kinds).toStrictEqual([
      ['stale-backend', '10.96.0.1:443/tcp', ['10.65.0.2:8443']],
      ['missing-backend', '10.96.0.1:443/tcp', ['10.0.0.20:6443', '10.0.0.21:6443', '10.0.0.22:6443']],
      ['backend-hole', '2.1.1.1:553/udp', ['107:0']],
      ['unexpected-frontend', '1.1.1.1:80/tcp', null],
      ['unexpected-frontend', '10.96.0.10:53/udp', null],
      ['unexpected-frontend', '172.18.0.100:80/tcp', null],
      ['unexpected-frontend', '172.18.0.100:80/tcp src 192.168.0.0/16', null],
      ['unexpected-frontend', '172.18.0.3:30080/tcp', null],
      ['unexpected-frontend', '2.1.1.1:553/udp', null],
      ['unexpected-frontend', '3.1.1.1:553/udp', null],
    ])
    const missing = detectDrift({
      nodes: [{node: 'n1', frontends: dump.filter((f) => f.ip !== '10.96.0.1')}],
      services: [kubernetesSvc],
      endpointSlices: [kubernetesSlice],
    }).filter((f) => f.kind === 'missing-service')
    expect(missing).toStrictEqual([
      {
        kind: 'missing-service',
        frontend: '10.96.0.1:443/tcp',
        service: 'default/kubernetes:https',
        node: 'n1',
        expected: ['10.0.0.20:6443', '10.0.0.21:6443', '10.0.0.22:6443'],
        message: 'default/kubernetes:https (10.96.0.1:443/tcp) has no frontend on n1',
      },
    ])
    // Partial dumps (grep) never claim a Service is missing.
    expect(
      detectDrift({
        nodes: [{node: 'n1', frontends: [], complete: false}],
        services: [kubernetesSvc],
        endpointSlices: [kubernetesSlice],
      }),
    ).toStrictEqual([])
  })
})

describe('joinFrontends (NAT-5 frontends)', () => {
  const services: K8sService[] = [
    {
      metadata: {name: 'solr', namespace: 'search'},
      spec: {
        type: 'NodePort',
        clusterIP: '10.210.32.164',
        ports: [{name: 'http', port: 8983, nodePort: 30979, protocol: 'TCP'}],
      },
    },
    {
      metadata: {name: 'redis', namespace: 'cache'},
      spec: {clusterIP: '10.210.123.102', externalIPs: ['10.98.0.16'], ports: [{port: 6379}]},
    },
    {
      metadata: {name: 'web', namespace: 'front'},
      spec: {type: 'LoadBalancer', clusterIP: '10.96.99.99', ports: [{name: 'https', port: 443, nodePort: 30757}]},
      status: {loadBalancer: {ingress: [{ip: '10.210.95.96'}]}},
    },
    {metadata: {name: 'ext', namespace: 'x'}, spec: {type: 'ExternalName'}},
  ]
  const slices: K8sEndpointSlice[] = [
    {
      metadata: {name: 'solr-abc', namespace: 'search', labels: {'kubernetes.io/service-name': 'solr'}},
      endpoints: [
        {
          addresses: ['10.97.0.19'],
          conditions: {ready: true},
          targetRef: {kind: 'Pod', name: 'solr-0', namespace: 'search'},
          nodeName: 'node-a',
        },
      ],
      ports: [{name: 'http', port: 8983, protocol: 'TCP'}],
    },
    {
      metadata: {name: 'redis-1', namespace: 'cache', labels: {'kubernetes.io/service-name': 'redis'}},
      endpoints: [
        {
          addresses: ['10.200.130.158'],
          conditions: {ready: false, serving: true, terminating: true},
          targetRef: {name: 'redis-0'},
        },
      ],
      ports: [{name: '', port: 6379, protocol: 'TCP'}],
    },
  ]

  it('ClusterIP, NodePort on a node IP and on 255.255.255.255, externalIP, LB ingress, service-id inheritance, pods', () => {
    const fes = parseNatDumpText(fixture('nat-5-calico-8255.txt')).entries
    const joined = joinFrontends(fes, {services, endpointSlices: slices, nodeIps: ['10.98.0.21']})
    const summary = joined.filter((j) => j.service).map((j) => [frontendKey(j), j.service!.ref, j.service!.via])
    expect(summary).toStrictEqual([
      ['10.98.0.16:6379/tcp', 'cache/redis:6379', 'external-ip'],
      ['10.98.0.21:30979/tcp', 'search/solr:http', 'node-port'],
      ['10.210.95.96:443/tcp', 'front/web:https', 'load-balancer'],
      ['255.255.255.255:30757/tcp', 'front/web:https', 'node-port'],
      ['10.210.32.164:8983/tcp', 'search/solr:http', 'cluster-ip'],
      ['10.210.123.102:6379/tcp', 'cache/redis:6379', 'cluster-ip'],
    ])
    const solr = joined.find((j) => j.ip === '10.210.32.164')!
    expect(solr.service).toStrictEqual({
      namespace: 'search',
      name: 'solr',
      portName: 'http',
      port: 8983,
      proto: 'tcp',
      via: 'cluster-ip',
      ref: 'search/solr:http',
    })
    expect(solr.backends).toStrictEqual([
      {
        ordinal: 0,
        ip: '10.97.0.19',
        port: 8983,
        pod: 'search/solr-0',
        nodeName: 'node-a',
        ready: true,
        serving: true,
        terminating: false,
      },
    ])
    const redis = joined.find((j) => j.ip === '10.98.0.16')!
    expect(redis.backends[0]).toStrictEqual({
      ordinal: 0,
      ip: '10.200.130.158',
      port: 6379,
      pod: 'cache/redis-0',
      ready: false,
      serving: true,
      terminating: true,
    })
    // A frontend of an unknown IP that shares a service id with a matched one inherits its Service.
    const extra = parseNatDumpText('192.0.2.7 port 8983 proto 6 id 24 count 0 local 0\n').entries
    const inherited = joinFrontends([...fes, ...extra], {services, endpointSlices: slices, nodeIps: ['10.98.0.21']}).at(
      -1,
    )!
    expect(inherited.service?.via).toBe('service-id')
    expect(inherited.service?.ref).toBe('search/solr:http')
    // A NodePort on an IP that is not this node's does not match by port alone.
    expect(joined.find((j) => j.ip === '10.98.0.21' && j.port === 31261)!.service).toBeUndefined()
  })

  it('terminating-only endpoints are expected when none is ready (no stale finding)', () => {
    const fes = parseNatDumpText(
      '10.210.123.102 port 6379 proto 6 id 55 count 1 local 0\n\t55:0\t 10.200.130.158:6379\n',
    ).entries
    const f = detectDrift({nodes: [{node: 'n', frontends: fes, complete: false}], services, endpointSlices: slices})
    expect(f).toStrictEqual([])
  })
})

describe('conntrack stats', () => {
  it('raw entries: by type, protocol and state; NAT-forward entries seen', () => {
    const s = conntrackStats(parseConntrackText(fixture('doc-ct-raw.txt')).entries, {mapSize: 1000})
    expect(s).toStrictEqual({
      entries: 6,
      byType: {normal: 3, 'nat-forward': 1, 'nat-reverse': 2, unknown: 0},
      byProto: {tcp: 5, udp: 1},
      connectionsByProto: {tcp: 4, udp: 1},
      tcpStates: {ESTABLISHED: 3, 'SYN-SENT': 0, CLOSED: 0, RESET: 1},
      connections: 5,
      mapEntries: 6,
      mapSize: 1000,
      fillRatio: 0.006,
    })
  })

  it('pretty entries hide NAT-forward twins: each NAT-reverse counts twice against the map', () => {
    const s = conntrackStats(parseConntrackText(fixture('doc-ct-pretty.txt')).entries)
    expect(s).toStrictEqual({
      entries: 6,
      byType: {normal: 4, 'nat-forward': 0, 'nat-reverse': 2, unknown: 0},
      byProto: {tcp: 3, udp: 1, icmp: 1, sctp: 1},
      connectionsByProto: {tcp: 3, udp: 1, icmp: 1, sctp: 1},
      tcpStates: {ESTABLISHED: 2, 'SYN-SENT': 0, CLOSED: 0, RESET: 1},
      connections: 6,
      mapEntries: 8,
      mapSize: 512000,
      fillRatio: 8 / 512000,
    })
    const acc = new ConntrackStatsAccumulator({forwardEntriesHidden: false, mapSize: 0})
    for (const e of parseConntrackText(fixture('doc-ct-pretty.txt')).entries) acc.add(e)
    expect(acc.result()).toMatchObject({mapEntries: 6, fillRatio: 0})
  })
})
