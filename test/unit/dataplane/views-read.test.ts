/** The per-node reads behind `status`, `dataplane counters` and `nat maglev`, fed real and noisy agent output. */
import {describe, expect, it} from 'vitest'

import {readCounters} from '../../../src/lib/dataplane/counters.js'
import {readIfstate} from '../../../src/lib/dataplane/ifstate.js'
import {readMaglev} from '../../../src/lib/dataplane/nat-tables.js'
import {DataplaneReadError} from '../../../src/lib/dataplane/read-maps.js'
import type {NodeRunner, RunOptions, RunResult} from '../../../src/lib/nodes/types.js'
import {fixture} from '../maps/helpers.js'

/** A runner that answers one exact argv line and fails every other command (as a missing binary). */
function runnerFor(argv: string, res: RunResult): NodeRunner {
  return {
    via: 'exec',
    async run(_node, cmd: string[], opts: RunOptions): Promise<RunResult> {
      if (cmd.join(' ') !== argv) return {stdout: '', stderr: `sh: ${cmd[0]}: not found`, exitCode: 127}
      if (opts.onStdout) {
        opts.onStdout(Buffer.from(res.stdout))
        return {...res, stdout: ''}
      }
      return res
    },
    async close() {},
  }
}

const node = {name: 'node-1'}
const agent = {timeoutMs: 1000, agentReachable: true, source: 'agent' as const}
const ok = (stdout: string): RunResult => ({stdout, stderr: '', exitCode: 0})
const CONFIG_LINE = 'Using config file: /root/.calico-bpf.yaml\n'

describe('dataplane view reads through the agent', () => {
  it('ifstate --json after the `Using config file:` line calico-bpf prints first is read, not "not understood"', async () => {
    const runner = runnerFor('calico-node -bpf ifstate dump --json', ok(CONFIG_LINE + fixture('fmt-ifstate.json')))
    const r = await readIfstate(runner, node, {...agent, calicoVersion: 'v3.32.1'})
    expect(r.source).toBe('agent-json')
    expect(r.interfaces!.map((i) => i.name)).toEqual(['eth0', 'cali9f8e7d6c5b4'])
  })

  it('ifstate --json cut off: not understood, with the reason', async () => {
    const runner = runnerFor('calico-node -bpf ifstate dump --json', ok('[\n  {\n    "ifindex": 2,\n'))
    const err = await readIfstate(runner, node, {...agent, calicoVersion: 'v3.32.1'}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DataplaneReadError)
    expect((err as DataplaneReadError).message).toMatch(/not understood: "the JSON output is not valid JSON \(cut off\?\)"/)
  })

  it('nat maglev --json after the `Using config file:` line is read', async () => {
    const runner = runnerFor('calico-node -bpf nat maglev --json', ok(CONFIG_LINE + fixture('fmt-nat-maglev.json')))
    const r = await readMaglev(runner, node, {...agent, calicoVersion: 'v3.32.1'})
    expect(r.entries.map((e) => [e.serviceId, e.ordinal])).toEqual([[12, 0], [35, 0], [35, 1]])
  })

  it('counters text of a release without --json (v3.29): the real #9675 output with its prompt line is read', async () => {
    const runner = runnerFor('calico-node -bpf counters dump', ok(fixture('counters-2-calico-9675-verbatim.txt')))
    const r = await readCounters(runner, node, {...agent, calicoVersion: 'v3.29.0'})
    expect(r.source).toBe('agent-text')
    expect(r.interfaces.map((i) => i.interface)).toEqual(['calid8be076e5f7'])
  })

  it('counters text that is not a table: not understood, naming the first line it could not read', async () => {
    const runner = runnerFor('calico-node -bpf counters dump', ok('no counters here\n'))
    const err = await readCounters(runner, node, {...agent, calicoVersion: 'v3.29.0'}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DataplaneReadError)
    expect((err as DataplaneReadError).message).toMatch(/counters output was not understood: "no counters here"/)
  })
})
