import {describe, expect, it} from 'vitest'

import {addressOf} from '../../../src/lib/verify/http-probe.js'
import {latencyStats, percentile, type RunSummary} from '../../../src/lib/verify/model.js'
import {MAX_HISTORY_BYTES, beforeAfter, parseHistory} from '../../../src/lib/verify/results.js'

const run = (dataplane: RunSummary['dataplane'], p50: number, sourceIp: RunSummary['sourceIp']): RunSummary => ({
  at: '2026-12-04T10:00:00.000Z',
  dataplane,
  externalServiceMode: dataplane === 'BPF+DSR' ? 'DSR' : 'Tunnel',
  nodePortP50Ms: p50,
  nodePortMeanMs: p50,
  sourceIp,
  requests: 1000,
  passed: true,
})

describe('verify results', () => {
  it('prints the demo line: the latest run of each stage, source IP collapsed', () => {
    const runs = [run('kube-proxy', 2.1, 'node-address'), run('kube-proxy', 1.88, 'node-address'), run('BPF', 1.81, 'preserved'), run('BPF+DSR', 1.59, 'preserved')]
    expect(beforeAfter(runs)).toBe('NodePort p50 1.88 ms (kube-proxy) → 1.81 ms (BPF) → 1.59 ms (BPF+DSR); source IP: node address → client address')
  })

  it('validates stored history as untrusted input: rebuilt field by field, bounded', () => {
    const good = {runs: [run('BPF', 1, 'preserved')]}
    expect(parseHistory(JSON.stringify(good)).runs).toEqual(good.runs)
    const extra = {runs: [{...run('BPF', 1, 'preserved'), evil: '\u001b]0;x\u0007'}]}
    expect(parseHistory(JSON.stringify(extra)).runs[0]).not.toHaveProperty('evil')
    expect(parseHistory(JSON.stringify({runs: [{...run('BPF', 1, 'preserved'), dataplane: 'pwned\u001b[2J'}]})).problem).toMatch(/unknown dataplane/)
    expect(parseHistory(JSON.stringify({runs: [{...run('BPF', 1, 'preserved'), nodePortP50Ms: -1}]})).problem).toMatch(/latency/)
    expect(parseHistory('x'.repeat(MAX_HISTORY_BYTES + 1)).problem).toMatch(/larger than/)
    expect(parseHistory('{').problem).toBe('not JSON')
    expect(parseHistory(JSON.stringify({runs: Array.from({length: 21}, () => run('BPF', 1, 'preserved'))})).problem).toMatch(/more than 20/)
  })

  it('computes nearest-rank percentiles and reads agnhost /clientip answers', () => {
    const s = latencyStats('n', '1.2.3.4', [5, 1, 4, 2, 3, 6, 7, 8, 9, 10], 0)
    expect([s.p50Ms, s.p90Ms, s.p99Ms, s.meanMs]).toEqual([5, 9, 10, 5.5])
    expect(percentile([1], 99)).toBe(1)
    expect(addressOf('198.18.0.1:45678')).toBe('198.18.0.1')
    expect(addressOf('[2001:db8::1]:80')).toBe('2001:db8::1')
    expect(addressOf('<html>')).toBeUndefined()
    expect(addressOf('999.1.1.1:80')).toBeUndefined()
  })
})
