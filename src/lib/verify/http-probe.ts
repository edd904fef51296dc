import {Socket} from 'node:net'

/** What one HTTP exchange over a fresh TCP connection gave: the answer, this machine's address on it, the time. */
export interface HttpAnswer {
  status: number
  body: string
  /** This machine's address on the connection (the source address the route to the target chose). */
  localAddress: string
  /**
   * From the start of the TCP connect to the last byte of the response, as curl's time_total for a numeric address
   * (there is no name lookup): connect, request, whole response.
   */
  ms: number
}

const HEAD_BYTES = 16 * 1024

/**
 * GET http://host:port/path over a new TCP connection (`Connection: close`, like each curl of a loop), bounded in time
 * and bytes: the answer is from outside.
 *
 * The exchange is done on the socket itself, not with node:http: the timed window must hold the network and the
 * server, not the client library. node:http's request/response objects and stream events cost ~0.4 ms of this
 * process's own work per request inside the window on the netns rig (a loaded 2-CPU machine), a third of what a curl
 * loop measures there. The response framing read here is the small part of HTTP/1.1 a GET needs:
 * Content-Length, chunked, or the body up to the server's close.
 */
export function httpGet(host: string, port: number, path: string, opts: {timeoutMs: number; maxBytes: number}): Promise<HttpAnswer> {
  const hostHeader = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
  const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: ebpfctl-verify\r\nAccept: */*\r\nConnection: close\r\n\r\n`, 'latin1')
  return new Promise((resolve, reject) => {
    let settled = false
    const chunks: Buffer[] = []
    let size = 0
    let head: {status: number; bodyStart: number; length?: number; chunked: boolean} | undefined
    // The socket object and its listeners are made before the clock starts: curl's time_total does not hold curl's
    // own set-up either. From t0 on: the connect, the request, the answer.
    const socket = new Socket()
    socket.setNoDelay(true)
    let localAddress = ''
    let t0 = 0n
    const timer = setTimeout(() => fail(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs)
    function fail(err: Error) {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    /** `arrived`: when the chunk that completed the answer was handed to us, before we looked at it. */
    function done(body: Buffer, arrived: bigint) {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({status: head!.status, body: body.toString('utf8'), localAddress, ms: Number(arrived - t0) / 1e6})
    }
    socket.once('connect', () => {
      socket.write(request)
      localAddress = socket.localAddress ?? ''
    })
    socket.on('data', (c: Buffer) => {
      // The clock stops when the last byte is ours, not after our parsing of it.
      const arrived = process.hrtime.bigint()
      size += c.length
      if (size > opts.maxBytes + HEAD_BYTES) return fail(new Error(`answer larger than ${opts.maxBytes} bytes`))
      chunks.push(c)
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
      if (chunks.length > 1) chunks.splice(0, chunks.length, all)
      if (!head) {
        const end = all.indexOf('\r\n\r\n')
        if (end < 0) {
          if (all.length > HEAD_BYTES) fail(new Error(`response head larger than ${HEAD_BYTES} bytes`))
          return
        }
        const parsed = parseHead(all.subarray(0, end).toString('latin1'))
        if (typeof parsed === 'string') return fail(new Error(parsed))
        head = {...parsed, bodyStart: end + 4}
      }
      const body = all.subarray(head.bodyStart)
      if (body.length > opts.maxBytes) return fail(new Error(`answer larger than ${opts.maxBytes} bytes`))
      if (head.length !== undefined) {
        if (body.length >= head.length) done(body.subarray(0, head.length), arrived)
      } else if (head.chunked) {
        const decoded = dechunk(body)
        if (typeof decoded === 'string') fail(new Error(decoded))
        else if (decoded) done(decoded, arrived)
      }
    })
    socket.once('end', () => {
      const arrived = process.hrtime.bigint()
      if (!head) return fail(new Error('the connection closed before a complete HTTP response head'))
      const body = (chunks.length ? chunks[0]! : Buffer.alloc(0)).subarray(head.bodyStart)
      // Neither length nor chunked: the body is everything up to the server's close.
      if (head.length === undefined && !head.chunked) return done(body, arrived)
      fail(new Error('the connection closed before the whole response body'))
    })
    socket.once('error', fail)
    t0 = process.hrtime.bigint()
    socket.connect({host, port})
  })
}

function parseHead(text: string): {status: number; length?: number; chunked: boolean} | string {
  const lines = text.split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '')
  if (!m) return `not an HTTP/1.x response: "${(lines[0] ?? '').slice(0, 40)}"`
  let length: number | undefined
  let chunked = false
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (name === 'content-length') {
      if (!/^\d{1,9}$/.test(value) || (length !== undefined && length !== Number(value))) return `bad Content-Length "${value.slice(0, 20)}"`
      length = Number(value)
    } else if (name === 'transfer-encoding') chunked = /(^|,)\s*chunked\s*$/i.test(value)
  }
  const status = Number(m[1])
  // No body for these, whatever the headers say.
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return {status, length: 0, chunked: false}
  return chunked ? {status, chunked} : {status, length, chunked}
}

/** The body of a chunked encoding once its last chunk is in; undefined while incomplete; a string when malformed. */
function dechunk(data: Buffer): Buffer | undefined | string {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = data.indexOf('\r\n', at)
    if (eol < 0) return data.length - at > 32 ? 'bad chunk size line' : undefined
    const size = /^([0-9a-fA-F]{1,8})(;.*)?$/.exec(data.subarray(at, eol).toString('latin1'))
    if (!size) return 'bad chunk size line'
    const n = parseInt(size[1]!, 16)
    // The last chunk, then optional trailers, then an empty line.
    if (n === 0) return data.indexOf('\r\n\r\n', eol) >= 0 ? Buffer.concat(parts) : undefined
    if (data.length < eol + 2 + n + 2) return undefined
    parts.push(data.subarray(eol + 2, eol + 2 + n))
    at = eol + 2 + n + 2
  }
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
