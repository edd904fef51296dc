import {describe, expect, it} from 'vitest'

import {runChecks} from '../../../src/lib/checks/index.js'
import {configureColor} from '../../../src/lib/output/color.js'
import {buildReport, renderFindingsTable, renderJunit} from '../../../src/lib/output/findings.js'
import {baseState, ctxOf, node} from './state.js'

const meta = {ebpfctlVersion: '0.1.0', target: {mode: 'cluster' as const, server: 'https://x:6443'}, calico: null}

async function report(nodes = 5000) {
  const ns = Array.from({length: nodes}, (_, i) =>
    node(`node-${i}`, i < 3 ? {kernel: '4.15.0-213-generic', osImage: 'Ubuntu 18.04.6 LTS'} : {}),
  )
  return buildReport(await runChecks(ctxOf(baseState({nodes: ns})), {only: ['kernel', 'hybrid', 'windows']}), meta)
}

describe('table', () => {
  it('collapses identical per-node verdicts and lists failing nodes', async () => {
    const text = renderFindingsTable(await report())
    expect(text).toContain('4997 nodes  kernel 6.8.0-45-generic (Ubuntu 24.04.1 LTS): 6.8.0-45 is supported')
    expect(text).toMatch(/FAIL {2}3 nodes {5}kernel 4\.15\.0-213-generic/)
    expect(text).toContain('nodes: node-0, node-1, node-2')
    expect(text).toContain('Remedy: Upgrade the kernel')
    expect(text.split('\n').length).toBeLessThan(40)
    expect(text.trim().split('\n').pop()).toBe('4998 passed, 0 warnings, 4 failed')
  })
  it('-o wide lists every node', async () => {
    const text = renderFindingsTable(await report(50), {wide: true})
    expect(text.split('\n').filter((l) => l.includes('kernel 6.8.0-45-generic'))).toHaveLength(47)
  })
  it('colours only when enabled', async () => {
    const r = await report(5)
    await configureColor({noColor: true})
    expect(renderFindingsTable(r)).not.toContain('\u001B[')
    await configureColor({stream: {isTTY: true} as NodeJS.WriteStream})
    const saved = process.env.NO_COLOR
    delete process.env.NO_COLOR
    await configureColor({stream: {isTTY: true} as NodeJS.WriteStream})
    expect(renderFindingsTable(r)).toContain('\u001B[31mFAIL')
    process.env.NO_COLOR = saved
    await configureColor({stream: {isTTY: true} as NodeJS.WriteStream})
    expect(renderFindingsTable(r)).not.toContain('\u001B[')
  })
})

describe('json report', () => {
  it('puts per-node findings under nodes[] and cluster findings under checks[]', async () => {
    const r = await report(10)
    const kernel = r.checks.find((c) => c.id === 'kernel')!
    expect(kernel).toMatchObject({status: 'fail', scope: 'node', counts: {passed: 7, failed: 3, warnings: 0, skipped: 0}, findings: []})
    expect(r.nodes).toHaveLength(10)
    expect(r.nodes[0]).toMatchObject({name: 'node-0', status: 'fail'})
    expect(r.checks.find((c) => c.id === 'hybrid')!.findings[0]!.status).toBe('fail')
    expect(r.summary).toEqual({passed: 8, warnings: 0, failed: 4, skipped: 0})
  })
})

describe('junit', () => {
  it('has a testcase per finding: failure for fail, system-out + property for warn', async () => {
    const r = buildReport(await runChecks(ctxOf(baseState({nodes: [node('a'), node('b', {kernel: '5.4.0-169-generic'}), node('c<&>', {kernel: '4.15.0-1-generic'})]})), {only: ['kernel']}), meta)
    const xml = renderJunit(r)
    expect(xml.match(/<testcase /g)).toHaveLength(3)
    expect(xml).toContain('<testsuite name="kernel" tests="3" failures="1" errors="0" skipped="0">')
    expect(xml).toContain('<property name="status" value="warn"/>')
    expect(xml).toContain('<system-out>WARNING: kernel 5.4.0-169-generic')
    expect(xml).toContain('name="c&lt;&amp;&gt;: kernel 4.15.0-1-generic')
    expect(xml).toMatch(/<failure message="[^"]+" type="kernel">/)
  })
  it('marks ignored failures', async () => {
    const r = buildReport(await runChecks(ctxOf(baseState({nodes: [node('w', {os: 'windows'})]})), {only: ['windows'], ignore: ['windows']}), meta)
    expect(renderJunit(r)).toContain('<property name="ignored" value="true"/>')
    expect(renderFindingsTable(r)).toContain('(ignored failure)')
  })
})
