/**
 * A fake Kubernetes API server for ebpfctl's tests: real HTTPS on 127.0.0.1, Bearer-token auth, discovery, built-in
 * and CRD-backed resources with real metav1 Status errors, merge/JSON/strategic patches, CRD schema validation (ajv),
 * selectors and pagination, pod exec over WebSocket (client-node's Exec), pod logs, RBAC-style denials, fault
 * injection, a request log, and synchronous workload controllers (DaemonSet, Deployment/ReplicaSet).
 *
 * Controller timing: controllers run synchronously inside every write (HTTP or store.put/seed/delete), before the
 * HTTP response is sent. A write's response therefore already shows the controllers' effects (e.g. a DaemonSet PUT
 * answers with the updated status) and a following GET sees the new pods. Rollouts are instantaneous.
 * `store.pauseControllers()` / `resumeControllers()` let a test observe the in-between state.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {stringify} from 'yaml'

import {serverCerts} from './certs.js'
import {workloadControllers} from './controllers.js'
import {
  ApiServerCore,
  type ExecHandler,
  type ForbidRule,
  type LogsHandler,
  type ProxyHandler,
  type RequestHook,
  type RequestRecord,
  type ResourceAttributes,
} from './server.js'
import type {FakeStore} from './store.js'

export type {FakeStore, ResourceType, WriteEvent} from './store.js'
export type {
  ExecHandler,
  ExecRequest,
  ExecResponse,
  FaultAction,
  ForbidRule,
  LateWrite,
  LogsHandler,
  HostileBody,
  LogsRequest,
  ProxyHandler,
  ProxyRequest,
  ProxyResponse,
  RequestHook,
  ResourceAttributes,
  RequestInfo,
  RequestRecord,
} from './server.js'
export {loadYaml} from './store.js'

export interface FakeApiServer {
  /** https://127.0.0.1:<port> (http:// with tls: false). */
  url: string
  token: string
  /** PEM of the CA that signed the server certificate ('' with tls: false). */
  caPem: string
  /** Writes `<dir>/kubeconfig` (created if needed) and returns its path. Context name default 'fake'. */
  writeKubeconfig(dir: string, opts?: {context?: string; token?: string; server?: string; namespace?: string}): string
  store: FakeStore
  /** Every request, in arrival order (exec upgrades too). */
  log: RequestRecord[]
  /** Requests with method POST/PUT/PATCH/DELETE (exec and SelfSubjectAccessReviews excluded). */
  writes(): RequestRecord[]
  /** writes() without the ?dryRun=All ones (judged, never stored). */
  persistedWrites(): RequestRecord[]
  resetLog(): void
  /** Fault injection: called for every request (after the body is read, before auth); undefined = no fault. */
  onRequest(hook: RequestHook | undefined): void
  /** Answer 403 Forbidden (RBAC wording) for matching requests. */
  forbid(rule: ForbidRule): void
  /** Remove all forbid rules. */
  clearForbidden(): void
  /** SelfSubjectAccessReviews asked so far (answered from the forbid rules: denied where a rule matches). */
  accessReviews: ResourceAttributes[]
  setExecHandler(h: ExecHandler): void
  setPodLogs(h: LogsHandler): void
  /** Answers requests through the pod proxy (pods/NAME:PORT/proxy/PATH). */
  setProxyHandler(h: ProxyHandler): void
  /** Called on every pod the workload controllers create, before it is stored (e.g. make some not Ready). */
  setPodHook(h: ((pod: any, ctx: {owner: any; node?: any}) => void) | undefined): void
  /** Resolves when every late write ({late, landAfterMs} faults) has landed or been refused. */
  settled(): Promise<void>
  close(): Promise<void>
}

export async function startFakeApiServer(opts: {token?: string; tls?: boolean} = {}): Promise<FakeApiServer> {
  const token = opts.token ?? 'fake-token-0123456789abcdef'
  const tls = opts.tls ?? true
  const certs = tls ? await serverCerts() : undefined
  const core = new ApiServerCore(token)
  for (const c of workloadControllers) core.store.addController(c)
  await core.listen(certs)
  const caPem = certs?.caPem ?? ''
  const server: FakeApiServer = {
    url: core.url,
    token,
    caPem,
    store: core.store,
    log: core.log,
    writeKubeconfig(dir, o = {}) {
      const context = o.context ?? 'fake'
      const serverUrl = o.server ?? core.url
      const cluster: Record<string, unknown> = {server: serverUrl}
      if (serverUrl.startsWith('https://') && caPem)
        cluster['certificate-authority-data'] = Buffer.from(caPem).toString('base64')
      else cluster['insecure-skip-tls-verify'] = true
      const kubeconfig = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{name: context, cluster}],
        users: [{name: `${context}-user`, user: {token: o.token ?? token}}],
        contexts: [
          {
            name: context,
            context: {cluster: context, user: `${context}-user`, ...(o.namespace ? {namespace: o.namespace} : {})},
          },
        ],
        'current-context': context,
        preferences: {},
      }
      mkdirSync(dir, {recursive: true})
      const path = join(dir, 'kubeconfig')
      writeFileSync(path, stringify(kubeconfig), {mode: 0o600})
      return path
    },
    // A SelfSubjectAccessReview is a question (POST, nothing stored): not a write.
    writes: () =>
      core.log.filter(
        (r) =>
          ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) &&
          r.verb !== 'exec' &&
          !r.path.endsWith('/selfsubjectaccessreviews'),
      ),
    persistedWrites: () => server.writes().filter((r) => !r.query.getAll('dryRun').includes('All')),
    resetLog: () => {
      core.log.length = 0
    },
    onRequest: (h) => core.onRequest(h),
    forbid: (r) => core.forbid(r),
    clearForbidden: () => core.clearForbidden(),
    accessReviews: core.accessReviews,
    setExecHandler: (h) => {
      core.execHandler = h
    },
    setPodLogs: (h) => {
      core.logsHandler = h
    },
    setProxyHandler: (h) => {
      core.proxyHandler = h
    },
    setPodHook: (h) => {
      core.store.podHook = h
    },
    settled: async () => {
      while (core.pending.size) await Promise.all([...core.pending])
    },
    close: () => core.close(),
  }
  return server
}
