import {request} from 'node:http'

/** What one HTTP exchange over a fresh TCP connection gave: the answer, this machine's address on it, the time. */
export interface HttpAnswer {
  status: number
  body: string
  /** This machine's address on the connection (the source address the route to the target chose). */
  localAddress: string
  /** Connect + request + whole response, as curl's time_total (no DNS: targets are addresses). */
  ms: number
}

/**
 * GET http://host:port/path over a new connection (no keep-alive, like each curl of a loop), bounded in time and
 * bytes: the answer is from outside.
 */
export function httpGet(host: string, port: number, path: string, opts: {timeoutMs: number; maxBytes: number}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    let localAddress = ''
    const req = request({host, port, path, method: 'GET', agent: false, headers: {Connection: 'close', 'User-Agent': 'ebpfctl-verify'}}, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > opts.maxBytes) {
          req.destroy(new Error(`answer larger than ${opts.maxBytes} bytes`))
          return
        }
        chunks.push(c)
      })
      res.on('end', () => {
        clearTimeout(timer)
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          localAddress,
          ms: Number(process.hrtime.bigint() - t0) / 1e6,
        })
      })
      res.on('error', fail)
    })
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs)
    function fail(err: Error) {
      clearTimeout(timer)
      reject(err)
    }
    req.on('socket', (s) => {
      s.once('connect', () => {
        localAddress = s.localAddress ?? ''
      })
    })
    req.on('error', fail)
    req.end()
  })
}

/** "1.2.3.4:5678" or "[::1]:5678" (agnhost /clientip) → the address, or undefined when it is not one. */
export function addressOf(hostPort: string): string | undefined {
  const text = hostPort.trim()
  const m = /^\[([0-9a-fA-F:.]+)\]:\d+$/.exec(text) ?? /^([0-9.]+):\d+$/.exec(text) ?? /^([0-9a-fA-F:.]+)$/.exec(text)
  return m && isIpAddress(m[1]!) ? m[1]!.replace(/^::ffff:/, '') : undefined
}

export function isIpAddress(s: string): boolean {
  return /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(s) || (/^[0-9a-fA-F:.]+$/.test(s) && s.includes(':'))
}
