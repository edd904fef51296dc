/**
 * A TLS fault proxy in front of the real kube-apiserver of the e2e cluster. It terminates TLS with its own
 * certificate (the fake API server's test CA, 127.0.0.1), forwards each request to the apiserver as the cluster's admin
 * (client certificate), and, per request, as a rule says:
 * - answers itself with a status (500, 429 with Retry-After, …) without forwarding;
 * - drops the connection, or hangs (never answers) without forwarding;
 * - `late`: answers nothing (drop at once, or hang) and forwards the write `landAfterMs` later, as a request stuck in
 *   the apiserver's pipeline would land (the apiserver checks preconditions then);
 * - `lostAnswer`: forwards the write now and, once the apiserver has applied it, drops the client's connection — the
 *   write landed while the client thinks it failed.
 * Loopback only. Bodies are buffered (ebpfctl's requests are small; 4 MiB cap) so a rule can look at them.
 */
import {once} from 'node:events'
import {readFileSync, writeFileSync} from 'node:fs'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {type AddressInfo} from 'node:net'
import {Agent, createServer, request} from 'node:https'
import {join} from 'node:path'

import {serverCerts} from '../../support/fake-apiserver/certs.js'

export type ProxyFault =
  | {status: number; retryAfterSeconds?: number; reason?: string}
  | 'drop'
  | 'hang'
  | {late: 'drop' | 'hang'; landAfterMs: number}
  | {lostAnswer: 'drop'}

export interface ProxiedRequest {
  method: string
  /** Path without the query. */
  path: string
  query: URLSearchParams
  body: string
}

export interface ProxyLogEntry extends ProxiedRequest {
  status?: number
  fault?: string
  /** Bytes of the apiserver's response body passed on to the client (requests without a fault). */
  bytes?: number
}

export interface FaultProxy {
  url: string
  /** A kubeconfig that reaches the apiserver through this proxy (the proxy's CA; the admin's client certificate). */
  kubeconfig: string
  log: ProxyLogEntry[]
  /** The rule for each request from now on; undefined forwards everything. */
  setRule(rule: ((r: ProxiedRequest) => ProxyFault | undefined) | undefined): void
  /** Resolves when every held (`late`) or forwarded-but-unanswered write has reached the apiserver. */
  settled(): Promise<void>
  close(): Promise<void>
}

const MAX_BODY = 4 * 1024 * 1024

/** Starts the proxy for the cluster in `dir` (test/e2e/cluster up DIR); writes DIR/kubeconfig-proxy. */
export async function startFaultProxy(dir: string): Promise<FaultProxy> {
  const upstream = new URL(readFileSync(join(dir, 'server'), 'utf8').trim())
  if (upstream.hostname !== '127.0.0.1') throw new Error(`fault proxy: not loopback: ${upstream}`)
  const agent = new Agent({
    keepAlive: true,
    ca: readFileSync(join(dir, 'pki/ca.crt')),
    cert: readFileSync(join(dir, 'pki/admin.crt')),
    key: readFileSync(join(dir, 'pki/admin.key')),
  })
  const certs = await serverCerts()
  let rule: ((r: ProxiedRequest) => ProxyFault | undefined) | undefined
  const log: ProxyLogEntry[] = []
  const pending = new Set<Promise<unknown>>()
  const hanging = new Set<ServerResponse>()

  const forward = (req: IncomingMessage, body: Buffer): Promise<{status: number; headers: IncomingMessage['headers']; body: Buffer}> =>
    new Promise((resolve, reject) => {
      const headers = {...req.headers}
      delete headers.host
      delete headers.authorization
      const up = request(
        {host: '127.0.0.1', port: upstream.port, method: req.method, path: req.url, headers: {...headers, 'content-length': String(body.length)}, agent},
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks)}))
          res.on('error', reject)
        },
      )
      up.on('error', reject)
      up.end(body)
    })

  /** Streams the apiserver's answer (logs and watches can be long): used when no fault applies. */
  const pipeThrough = (req: IncomingMessage, res: ServerResponse, body: Buffer, entry: ProxyLogEntry) => {
    const headers = {...req.headers}
    delete headers.host
    delete headers.authorization
    const up = request(
      {host: '127.0.0.1', port: upstream.port, method: req.method, path: req.url, headers: {...headers, 'content-length': String(body.length)}, agent},
      (upRes) => {
        entry.status = upRes.statusCode
        entry.bytes = 0
        upRes.on('data', (c: Buffer) => (entry.bytes! += c.length))
        res.writeHead(upRes.statusCode ?? 502, upRes.headers)
        upRes.pipe(res)
      },
    )
    up.on('error', () => res.destroy())
    res.on('close', () => up.destroy())
    up.end(body)
  }

  const server = createServer({cert: certs.certPem, key: certs.keyPem}, async (req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length
      if (size > MAX_BODY) return void res.destroy()
      chunks.push(c)
    }
    const body = Buffer.concat(chunks)
    const u = new URL(req.url ?? '/', 'https://127.0.0.1')
    const r: ProxiedRequest = {method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, body: body.toString('utf8')}
    const entry: ProxyLogEntry = {...r}
    log.push(entry)
    const fault = rule?.(r)
    if (!fault) return pipeThrough(req, res, body, entry)
    if (fault === 'drop') {
      entry.fault = 'drop'
      return void res.socket?.destroy()
    }
    if (fault === 'hang') {
      entry.fault = 'hang'
      hanging.add(res)
      res.on('close', () => hanging.delete(res))
      return
    }
    if ('status' in fault) {
      entry.fault = `status ${fault.status}`
      entry.status = fault.status
      const status = {kind: 'Status', apiVersion: 'v1', status: 'Failure', code: fault.status, reason: fault.reason ?? (fault.status === 429 ? 'TooManyRequests' : 'InternalError'), message: 'injected by the fault proxy'}
      res.writeHead(fault.status, {'content-type': 'application/json', ...(fault.retryAfterSeconds === undefined ? {} : {'retry-after': String(fault.retryAfterSeconds)})})
      return void res.end(JSON.stringify(status))
    }
    if ('late' in fault) {
      entry.fault = `late ${fault.late}, lands after ${fault.landAfterMs}ms`
      if (fault.late === 'drop') res.socket?.destroy()
      else {
        hanging.add(res)
        res.on('close', () => hanging.delete(res))
      }
      const landed = new Promise((resolve) => setTimeout(resolve, fault.landAfterMs))
        .then(() => forward(req, body))
        .then((a) => (entry.status = a.status), () => undefined)
      pending.add(landed)
      void landed.finally(() => pending.delete(landed))
      return
    }
    entry.fault = 'answer lost'
    const landed = forward(req, body).then(
      (a) => (entry.status = a.status),
      () => undefined,
    )
    pending.add(landed)
    void landed.finally(() => {
      pending.delete(landed)
      res.socket?.destroy()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  const caFile = join(dir, 'pki/fault-proxy-ca.crt')
  writeFileSync(caFile, certs.caPem)
  const kubeconfig = join(dir, 'kubeconfig-proxy')
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: e2e-proxy',
      `  cluster: {server: "${url}", certificate-authority: "${caFile}"}`,
      'users:',
      '- name: admin',
      `  user: {client-certificate: "${join(dir, 'pki/admin.crt')}", client-key: "${join(dir, 'pki/admin.key')}"}`,
      'contexts:',
      '- name: e2e-proxy',
      '  context: {cluster: e2e-proxy, user: admin}',
      'current-context: e2e-proxy',
      '',
    ].join('\n'),
  )
  return {
    url,
    kubeconfig,
    log,
    setRule(r) {
      rule = r
    },
    async settled() {
      while (pending.size > 0) await Promise.all([...pending])
    },
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      server.close()
      agent.destroy()
    },
  }
}
