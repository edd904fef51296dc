/**
 * Peak RSS and wall time of the built CLI (`npm run build` first) against hostile API responses: an endless node list,
 * an object declared 1.9 GB, endless calico-node logs (server honouring or ignoring limitBytes), and a clean `check`
 * for comparison. Target: under 256 MiB each. Run: npx tsx bench/api-bounds.ts
 */
import type {FaultAction, RequestInfo} from '../test/support/fake-apiserver/index.js'
import {startCluster} from '../test/support/operator-sim.js'
import {runCliMeasured} from '../test/support/peak-rss.js'

interface Case {
  name: string
  command: string[]
  bpf?: boolean
  hook?: (r: RequestInfo) => FaultAction | undefined
}

const cases: Case[] = [
  {name: 'check, clean cluster (baseline)', command: ['check']},
  {
    name: 'check, endless node list',
    command: ['check', '--request-timeout', '60s'],
    hook: (r) => (r.verb === 'list' && r.resource === 'nodes' ? {endless: 'json'} : undefined),
  },
  {
    name: 'check, object declared 1.9 GB',
    command: ['check'],
    hook: (r) => (r.verb === 'get' && r.name === 'kube-proxy' ? {declaredBytes: 1_900_000_000} : undefined),
  },
  {
    name: 'status, endless logs, limitBytes honoured',
    command: ['status', '--request-timeout', '60s'],
    bpf: true,
    hook: (r) => (r.verb === 'logs' ? {endless: 'text', honourLimitBytes: true} : undefined),
  },
  {
    name: 'status, endless logs, limitBytes ignored',
    command: ['status', '--request-timeout', '60s'],
    bpf: true,
    hook: (r) => (r.verb === 'logs' ? {endless: 'text'} : undefined),
  },
]

console.log('case | exit | peak RSS (MiB) | wall (ms) | first error line')
for (const c of cases) {
  const cluster = await startCluster('manifest', {nodes: 16})
  try {
    if (c.bpf) {
      const felix = cluster.server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
      felix.spec = {...felix.spec, bpfEnabled: true}
      cluster.server.store.put(felix)
    }
    cluster.server.onRequest(c.hook)
    const r = await runCliMeasured([...c.command, '--kubeconfig', cluster.kubeconfig])
    const line = r.stderr.split('\n').find((l) => l.startsWith('Error') || l.includes('bound')) ?? ''
    console.log(`${c.name} | ${r.code} | ${r.peakRssMiB} | ${r.ms} | ${line.slice(0, 140)}`)
  } finally {
    await cluster.close()
  }
}
