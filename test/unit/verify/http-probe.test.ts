import {type AddressInfo, Socket, createServer} from 'node:net'

import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'

import {afterEach, describe, expect, it, vi} from 'vitest'

import {httpGet} from '../../../src/lib/verify/http-probe.js'
import {latencyProbes} from '../../../src/lib/verify/probes.js'

// The latency probe reads HTTP/1.1 off the socket itself (node:http's own work would sit in the timed window): a raw
// server on 127.0.0.1 sends each framing, split across writes, and hostile answers.
let closeServer: (() => void) | undefined
afterEach(() => closeServer?.())

async function serve(answer: (s: Socket, request: string) => void): Promise<number> {
  const server = createServer((s) => {
    let request = ''
    s.on('data', (c) => {
      request += c.toString('latin1')
      if (request.includes('\r\n\r\n')) answer(s, request)
    })
    s.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closeServer = () => server.close()
  return (server.address() as AddressInfo).port
}

const later = (ms: number) => new Promise((r) => setTimeout(r, ms))
const get = (port: number, o: Partial<{timeoutMs: number; maxBytes: number}> = {}) =>
  httpGet('127.0.0.1', port, '/clientip', {timeoutMs: 2000, maxBytes: 4096, ...o})

describe('httpGet (verify latency probe)', () => {
  it('sends a one-shot GET and stops the clock at the last byte of a Content-Length body, not at the close', async () => {
    let seen = ''
    const port = await serve(async (s, request) => {
      seen = request
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n127.0.')
      await later(20)
      s.write('0.1:40000')
      // The server keeps the connection for a while: the answer is complete without its close.
      await later(300)
      s.end()
    })
    const a = await get(port)
    expect(a).toMatchObject({status: 200, body: '127.0.0.1:40000', localAddress: '127.0.0.1'})
    expect(a.ms).toBeGreaterThanOrEqual(15)
    expect(a.ms).toBeLessThan(250)
    expect(seen).toMatch(/^GET \/clientip HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/)
    expect(seen).toMatch(/\r\nConnection: close\r\n/)
  })

  it("times the connect and the answer, not ebpfctl's own work before the connect or on the bytes that came in", async () => {
    // Our own JS around the exchange made slow on purpose: the socket's set-up before the connect (its listeners) and
    // the reading of the answer's head. Neither is on the wire, and curl's time_total holds neither. Before, both sat
    // inside the timed window (ebpfctl's mean above a curl loop's at equal p50s).
    // Only the probe's own calls are slowed (the test's server shares this process and its event loop): the probe's
    // 'error' listener, and its reading of an answer's head ("HTTP/...") as latin1.
    const busy = (ms: number) => {
      const end = performance.now() + ms
      while (performance.now() < end);
    }
    const port = await serve(async (s) => {
      await later(20)
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n127.0.0.1:40000')
    })
    type Once = (this: Socket, event: string | symbol, listener: (...args: unknown[]) => void) => Socket
    const once = Socket.prototype.once as Once
    const toString = Buffer.prototype.toString
    const slowOnce = vi.spyOn(Socket.prototype, 'once').mockImplementation(function (this: Socket, event, listener) {
      if (event === 'error') busy(100)
      return once.call(this, event, listener)
    } as Once)
    const slowHead = vi.spyOn(Buffer.prototype, 'toString').mockImplementation(function (this: Buffer, ...args: unknown[]) {
      if (args[0] === 'latin1' && this[0] === 0x48) busy(100)
      return (toString as (...a: unknown[]) => string).apply(this, args)
    })
    try {
      const a = await get(port)
      expect(a.body).toBe('127.0.0.1:40000')
      expect(slowOnce).toHaveBeenCalledWith('error', expect.any(Function))
      expect(slowHead).toHaveBeenCalledWith('latin1')
      expect(a.ms).toBeGreaterThanOrEqual(19)
      expect(a.ms).toBeLessThan(100)
    } finally {
      slowOnce.mockRestore()
      slowHead.mockRestore()
    }
  })

  it('reads chunked bodies (trailers too) and close-delimited ones', async () => {
    let port = await serve(async (s) => {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n127.\r\n')
      await later(10)
      s.write('b;x=y\r\n0.0.1:40001\r\n0\r\nX-T: 1\r\n\r\n')
    })
    expect((await get(port)).body).toBe('127.0.0.1:40001')
    closeServer!()
    port = await serve((s) => s.end('HTTP/1.0 503 Service Unavailable\r\n\r\nno backend'))
    expect(await get(port)).toMatchObject({status: 503, body: 'no backend'})
  })

  it('bounds what it reads: a body over maxBytes, an endless head, garbage, a stall', async () => {
    let port = await serve((s) => s.end(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(100_000)}`))
    await expect(get(port)).rejects.toThrow(/answer larger than 4096 bytes/)
    closeServer!()
    port = await serve((s) => s.end(`HTTP/1.1 200 OK\r\n${'X-A: b\r\n'.repeat(5000)}`))
    await expect(get(port)).rejects.toThrow(/larger than/)
    closeServer!()
    port = await serve((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'))
    await expect(get(port)).rejects.toThrow(/not an HTTP\/1\.x response: "SSH-2\.0/)
    closeServer!()
    port = await serve((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'))
    await expect(get(port, {timeoutMs: 200})).rejects.toThrow(/no answer within 200 ms/)
    closeServer!()
    port = await serve((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'))
    await expect(get(port)).rejects.toThrow(/closed before the whole response body/)
    closeServer!()
    port = await serve((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n'))
    await expect(get(port)).rejects.toThrow(/bad Content-Length/)
  })
})

describe('latencyProbes pacing (--request-interval)', () => {
  const dataplane = {label: 'BPF', bpfEnabled: true, externalServiceMode: 'Tunnel', calicoInstall: 'manifest'} as const
  const answer = (s: Socket) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n127.0.0.1:40000')

  it('starts a request every intervalMs (start to start), as a curl loop is spaced by its process starts', async () => {
    const starts: number[] = []
    const port = await serve((s) => {
      starts.push(performance.now())
      answer(s)
    })
    const ac = new AbortController()
    const {stats, findings} = await latencyProbes([{node: 'n1', address: '127.0.0.1'}], port, 6, dataplane, {requestTimeoutMs: 2000, signal: ac.signal, intervalMs: 40})
    expect(findings[0]!.status).toBe('pass')
    // Start k is never before k intervals after the first (the accepts lag the starts by a connect each, and the first
    // one's more on a loaded machine: slack; back to back would be ~1 ms apart).
    expect((starts[5]! - starts[0]!) / 5).toBeGreaterThanOrEqual(30)
    expect(stats[0]).toMatchObject({requests: 6, errors: 0, intervalMs: 40})
    expect(stats[0]!.wallMs).toBeGreaterThanOrEqual(5 * 40 - 5)
    // The pacing waits are not ebpfctl's overhead.
    expect(stats[0]!.overheadMs).toBeGreaterThanOrEqual(0)
    expect(stats[0]!.overheadMs).toBeLessThan(20)
  })

  it('back to back with 0; an abort ends the waits at once', async () => {
    const port = await serve(answer)
    const ac = new AbortController()
    const t0 = performance.now()
    const fast = await latencyProbes([{node: 'n1', address: '127.0.0.1'}], port, 5, dataplane, {requestTimeoutMs: 2000, signal: ac.signal, intervalMs: 0})
    expect(fast.stats[0]).toMatchObject({requests: 5, intervalMs: 0})
    setTimeout(() => ac.abort(), 100)
    await latencyProbes([{node: 'n1', address: '127.0.0.1'}], port, 1000, dataplane, {requestTimeoutMs: 2000, signal: ac.signal, intervalMs: 5000})
    expect(performance.now() - t0).toBeLessThan(2000)
  })

  it("measures again a request during which this process's garbage collector ran (ebpfctl's pause, not the path's)", async () => {
    // A full GC forced while the third request's window is open (the server shares this process): that sample holds
    // ebpfctl's own pause, which a curl loop never has. Before: it was kept in the mean.
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    let accepted = 0
    const port = await serve((s) => {
      if (++accepted === 3) gc()
      answer(s)
    })
    const ac = new AbortController()
    const {stats, findings} = await latencyProbes([{node: 'n1', address: '127.0.0.1'}], port, 6, dataplane, {requestTimeoutMs: 2000, signal: ac.signal, intervalMs: 5})
    expect(findings[0]!.status).toBe('pass')
    expect(stats[0]!.gcRemeasured).toBeGreaterThanOrEqual(1)
    // Still 6 answered requests in the figures, and one more connection made per re-measured one.
    expect(stats[0]).toMatchObject({requests: 6, errors: 0})
    expect(accepted).toBe(6 + stats[0]!.gcRemeasured!)
  })
})
