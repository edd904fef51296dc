/** One HTTPS request to an API server with either a bearer token (the fake) or a client certificate (the real one). */
import {readFileSync} from 'node:fs'
import {request} from 'node:https'
import {join} from 'node:path'

export interface Endpoint {
  url: string
  ca: string | Buffer
  token?: string
  cert?: Buffer
  key?: Buffer
}

export interface RawResponse {
  status: number
  body: any
}

export const realEndpoint = (dir: string): Endpoint => ({
  url: readFileSync(join(dir, 'server'), 'utf8').trim(),
  ca: readFileSync(join(dir, 'pki/ca.crt')),
  cert: readFileSync(join(dir, 'pki/admin.crt')),
  key: readFileSync(join(dir, 'pki/admin.key')),
})

export function raw(ep: Endpoint, method: string, path: string, body?: string, contentType?: string): Promise<RawResponse> {
  const u = new URL(ep.url)
  if (u.hostname !== '127.0.0.1') throw new Error(`not loopback: ${ep.url}`)
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {accept: 'application/json'}
    if (ep.token) headers.authorization = `Bearer ${ep.token}`
    if (body !== undefined) headers['content-type'] = contentType ?? 'application/json'
    const req = request(
      {host: '127.0.0.1', port: u.port, method, path, headers, ca: ep.ca, cert: ep.cert, key: ep.key, timeout: 15_000},
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c) => (text += c))
        res.on('end', () => {
          let parsed: any = text
          try {
            parsed = JSON.parse(text)
          } catch {}
          resolve({status: res.statusCode ?? 0, body: parsed})
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)))
    req.on('error', reject)
    req.end(body)
  })
}

/** What the conformance test compares: status code and, for bodies, kind plus an error's reason (no uids/times/RVs). */
export function shape(r: RawResponse): {status: number; kind?: string; reason?: string} {
  const b = r.body && typeof r.body === 'object' ? r.body : {}
  return {status: r.status, kind: b.kind, ...(b.kind === 'Status' ? {reason: b.reason} : {})}
}
