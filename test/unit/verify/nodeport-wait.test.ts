/**
 * verify waits for a new Service's NodePort to answer before probing it: kube-proxy and Felix program it on their own
 * schedule after the EndpointSlices list the pods (the CI run that failed here probed in that gap). The "nodes" are
 * ports on 127.0.0.1 that start answering late, or never.
 */
import {type Server, createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterEach, describe, expect, it} from 'vitest'

import {nodePortProbes, waitForNodePorts} from '../../../src/lib/verify/probes.js'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

/** A free port on 127.0.0.1, closed again: connecting to it is refused until something listens there. */
async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const {port} = s.address() as AddressInfo
  await new Promise((r) => s.close(r))
  return port
}

/** agnhost's /clientip: the address and port the server saw. */
function answerOn(port: number): Promise<void> {
  const s = createServer((req, res) => res.end(`${req.socket.remoteAddress}:${req.socket.remotePort}`))
  servers.push(s)
  return new Promise((r) => s.listen(port, '127.0.0.1', r))
}

const dataplane = {label: 'BPF', bpfEnabled: true, externalServiceMode: 'Tunnel', calicoInstall: 'manifest'} as const

describe('waitForNodePorts', () => {
  it('a NodePort that answers only after a while is waited for, and its probe then passes', async () => {
    const port = await freePort()
    const target = {node: 'node-1', address: '127.0.0.1'}
    const lines: string[] = []
    const late = new Promise<void>((r) => setTimeout(() => answerOn(port).then(r), 700))
    const signal = new AbortController().signal
    const silent = await waitForNodePorts([target], port, {boundMs: 10_000, pollMs: 50, requestTimeoutMs: 500, signal, progress: (l) => lines.push(l)})
    await late
    expect([...silent]).toEqual([])
    expect(lines[0]).toBe(`waiting for NodePort ${port} to answer on 1 node(s) (kube-proxy or Felix programs it) …`)
    expect(lines.at(-1)).toMatch(new RegExp(`^NodePort ${port} answers on 1/1 node\\(s\\) \\(\\ds of 10s\\)$`))
    const np = await nodePortProbes([target], port, new Map(), dataplane, {requestTimeoutMs: 500, signal})
    expect(np.findings.map((f) => [f.checkId, f.status])).toEqual([['nodeport', 'pass'], ['source-ip', 'pass']])
  })

  it('a NodePort that never answers ends the wait at its bound, and its probe fails naming the bound', async () => {
    const port = await freePort()
    const lines: string[] = []
    const signal = new AbortController().signal
    const started = Date.now()
    const silent = await waitForNodePorts(
      [{node: 'node-1', address: '127.0.0.1'}],
      port,
      {boundMs: 1200, pollMs: 50, requestTimeoutMs: 300, signal, progress: (l) => lines.push(l)},
    )
    const took = Date.now() - started
    expect([...silent]).toEqual(['node-1'])
    expect(took).toBeGreaterThanOrEqual(1100)
    expect(took).toBeLessThan(5000)
    expect(lines.at(-1)).toBe(`NodePort ${port}: no answer within 1s from node-1`)
    const np = await nodePortProbes([{node: 'node-1', address: '127.0.0.1'}], port, new Map(), dataplane, {requestTimeoutMs: 300, signal}, undefined, {
      silent,
      boundMs: 1200,
    })
    expect(np.findings[0]).toMatchObject({checkId: 'nodeport', status: 'fail', node: 'node-1'})
    expect(np.findings[0]!.summary).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port} did not answer within 1s: `))
  })

  it('Ctrl-C ends the wait at once', async () => {
    const ports = [await freePort(), await freePort(), await freePort()]
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 300)
    const started = Date.now()
    const silent = await waitForNodePorts(
      ports.map((p, i) => ({node: `node-${i + 1}`, address: '127.0.0.1'})),
      ports[0]!,
      {boundMs: 30_000, pollMs: 100, requestTimeoutMs: 300, signal: ac.signal, progress: () => {}},
    )
    expect(Date.now() - started).toBeLessThan(3000)
    expect(silent.size).toBe(3)
  })
})
