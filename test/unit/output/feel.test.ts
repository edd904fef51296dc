/** Waits with elapsed time and bound, word-wrapped findings, and status in check's colours. */
import {afterEach, describe, expect, it} from 'vitest'

import {runChecks} from '../../../src/lib/checks/index.js'
import {formatDuration} from '../../../src/lib/duration.js'
import {configureColor} from '../../../src/lib/output/color.js'
import {buildReport, renderFindingsTable} from '../../../src/lib/output/findings.js'
import {wrapLine} from '../../../src/lib/output/wrap.js'
import {createProgress, memoryProgress} from '../../../src/lib/plan/progress.js'
import {renderStatus} from '../../../src/lib/output/status.js'
import {waitFor} from '../../../src/lib/plan/waits.js'
import {baseState, ctxOf, node} from '../checks/state.js'

afterEach(async () => {
  await configureColor({noColor: true})
})

describe('waits show elapsed time and the timeout', () => {
  it('formats durations as people say them', () => {
    expect([0, 999, 41_000, 300_000, 90_000, 3_723_000].map(formatDuration)).toEqual(['0s', '0s', '41s', '5m', '1m30s', '1h2m3s'])
  })

  it('TTY: the line is rewritten with "(41s of 5m)"; plain output: a new line only when the state changes', () => {
    const tty: string[] = []
    const p = createProgress({isTTY: true, write: (t) => tty.push(t)})
    p.start('calico-node rollout')
    p.update('2/3 nodes BPF active', {elapsedMs: 41_000, timeoutMs: 300_000})
    p.update('2/3 nodes BPF active', {elapsedMs: 43_000, timeoutMs: 300_000})
    expect(tty.at(-2)).toBe('\r\u001B[2Kcalico-node rollout … 2/3 nodes BPF active (41s of 5m)')
    expect(tty.at(-1)).toBe('\r\u001B[2Kcalico-node rollout … 2/3 nodes BPF active (43s of 5m)')
    const plain: string[] = []
    const q = createProgress({isTTY: false, write: (t) => plain.push(t)}, () => new Date('2026-12-04T10:00:00Z'))
    q.start('calico-node rollout')
    q.update('2/3 nodes BPF active', {elapsedMs: 41_000, timeoutMs: 300_000})
    q.update('2/3 nodes BPF active', {elapsedMs: 43_000, timeoutMs: 300_000})
    q.update('3/3 nodes BPF active', {elapsedMs: 45_000, timeoutMs: 300_000})
    expect(plain).toEqual([
      '[10:00:00] calico-node rollout …\n',
      '[10:00:00] calico-node rollout: 2/3 nodes BPF active (41s of 5m)\n',
      '[10:00:00] calico-node rollout: 3/3 nodes BPF active (45s of 5m)\n',
    ])
  })

  it('waitFor passes its clock to the progress line', async () => {
    const progress = memoryProgress()
    let polls = 0
    await waitFor({timing: {timeoutMs: 300_000, pollMs: 1} as never, signal: new AbortController().signal}, progress, 'rollout', async () =>
      ++polls < 3 ? {done: false, detail: `${polls}/3 updated`} : {done: true, detail: '3/3 updated'},
    )
    expect(progress.lines).toContain('rollout: 1/3 updated (0s of 5m)')
  })
})

describe('long findings wrap at word boundaries with their indentation', () => {
  it('wrapLine: continuation lines indented, long words kept whole, no wrapping without a width', () => {
    expect(wrapLine('aaa bbb ccc ddd', 12, '    ', '  - ')).toEqual(['  - aaa bbb', '    ccc ddd'])
    expect(wrapLine('x https://example.com/a/very/long/path y', 16, '  ')).toEqual(['  x', '  https://example.com/a/very/long/path', '  y'])
    expect(wrapLine('aaa bbb ccc ddd', undefined, '  ')).toEqual(['  aaa bbb ccc ddd'])
  })

  it('the check table wraps to the terminal width', async () => {
    const state = baseState({nodes: [node('old-1', {kernel: '4.15.0-213-generic', osImage: 'Ubuntu 18.04.6 LTS'}), node('new-1')]})
    const meta = {ebpfctlVersion: '0.1.0', target: {mode: 'cluster' as const, server: 'https://x:6443'}, calico: null}
    const report = buildReport(await runChecks(ctxOf(state), {only: ['kernel']}), meta)
    const unwrapped = renderFindingsTable(report)
    expect(unwrapped.split('\n').some((l) => l.length > 80)).toBe(true)
    const text = renderFindingsTable(report, {width: 80})
    const lines = text.split('\n')
    expect(lines.filter((l) => l.length > 80)).toEqual([])
    // The remedy's continuation lines sit under the remedy text, not at column 0.
    const remedy = lines.findIndex((l) => l.includes('Remedy:'))
    const indent = lines[remedy]!.indexOf('Remedy:')
    expect(lines[remedy + 1]!.slice(0, indent).trim()).toBe('')
    expect(lines[remedy + 1]!.length).toBeGreaterThan(indent)
    // Same words, only the line breaks differ.
    expect(text.split(/\s+/).join(' ')).toBe(unwrapped.split(/\s+/).join(' '))
  })
})

describe('status uses check colours', () => {
  it('BPF ready green, configured but not attached red, disagreements red', async () => {
    const saved = process.env.NO_COLOR
    delete process.env.NO_COLOR
    await configureColor({stream: {isTTY: true} as NodeJS.WriteStream})
    const status = {
      install: {type: 'manifest', calicoVersion: 'v3.32.1', calicoNamespace: 'kube-system'},
      configured: {bpf: true, source: 'FelixConfiguration', value: 'true'},
      calicoNode: {ready: 3, desired: 3, updated: 3},
      nodes: {
        total: 3,
        groups: [
          {dataplane: 'bpf-ready', count: 2, nodes: ['a', 'b']},
          {dataplane: 'bpf-not-attached', count: 1, nodes: ['c']},
        ],
        list: [
          {node: 'a', verdict: 'bpf-ready', source: 'ifstate-bpftool', reason: '4 interfaces ready'},
          {node: 'b', verdict: 'bpf-ready', source: 'ifstate-bpftool', reason: '4 interfaces ready'},
          {node: 'c', verdict: 'bpf-not-attached', source: 'ifstate-bpftool', reason: 'no interface ready'},
        ],
        unreadable: [],
      },
      kubeProxy: {state: 'disabled', ready: 0, desired: 0, selectorKeys: ['non-calico']},
      dsr: {mode: 'Tunnel', explicit: false},
      apiAddress: {source: 'none'},
      disagreements: ['node c: BPF configured but not attached'],
    }
    const text = renderStatus(status as never)
    if (saved !== undefined) process.env.NO_COLOR = saved
    expect(text).toContain('\u001B[32mBPF ready\u001B[39m: 2')
    expect(text).toContain('\u001B[31mBPF configured but not attached\u001B[39m: 1 (c)')
    expect(text).toContain('\u001B[31mDisagreements:\u001B[39m')
  })
})
