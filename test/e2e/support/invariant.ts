/**
 * The safety invariant on the real cluster: kube-proxy is never taken off the nodes while FelixConfiguration default
 * does not have bpfEnabled: true. Two watches (kube-proxy's DaemonSet, FelixConfiguration default) straight to the
 * apiserver; their events are merged by resourceVersion, which on a real apiserver is etcd's one global revision, so
 * the merged sequence is the order in which the writes happened.
 */
import {request} from 'node:https'

import {type Endpoint, realEndpoint} from './raw.js'

interface Event {
  rv: bigint
  which: 'kube-proxy' | 'felix'
  obj: any
}

const WATCHES = {
  'kube-proxy': '/apis/apps/v1/namespaces/kube-system/daemonsets?watch=1&fieldSelector=metadata.name%3Dkube-proxy',
  felix: '/apis/crd.projectcalico.org/v1/felixconfigurations?watch=1&fieldSelector=metadata.name%3Ddefault',
} as const

const kubeProxyOff = (ds: any) => ds?.spec?.template?.spec?.nodeSelector?.['non-calico'] === 'true'
const bpfOn = (fc: any) => fc?.spec?.bpfEnabled === true

export interface InvariantWatch {
  /** Waits until both watches have caught up with the objects' current versions, then judges the whole sequence. */
  stop(): Promise<{violated: boolean; events: number; violations: string[]}>
}

export async function watchInvariant(dir: string): Promise<InvariantWatch> {
  const ep: Endpoint = realEndpoint(dir)
  const port = new URL(ep.url).port
  const events: Event[] = []
  const latest = {'kube-proxy': 0n, felix: 0n}
  const started: Promise<void>[] = []
  const reqs = (Object.keys(WATCHES) as (keyof typeof WATCHES)[]).map((which) => {
    let buf = ''
    let ready!: () => void
    started.push(new Promise((r) => (ready = r)))
    const req = request({host: '127.0.0.1', port, path: WATCHES[which], ca: ep.ca, cert: ep.cert, key: ep.key}, (res) => {
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buf += chunk
        let nl
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          if (!line.trim()) continue
          const ev = JSON.parse(line)
          const rv = BigInt(ev.object?.metadata?.resourceVersion ?? 0)
          events.push({rv, which, obj: ev.type === 'DELETED' ? undefined : ev.object})
          if (rv > latest[which]) latest[which] = rv
          ready()
        }
      })
    })
    req.on('error', () => {})
    req.end()
    return req
  })
  // The first event of each watch is the object as it is now (ADDED): from there on nothing is missed.
  await Promise.all(started)
  return {
    async stop() {
      const current = async (which: keyof typeof WATCHES) => {
        const path = which === 'felix' ? '/apis/crd.projectcalico.org/v1/felixconfigurations/default' : '/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy'
        const {raw} = await import('./raw.js')
        return BigInt((await raw(ep, 'GET', path)).body?.metadata?.resourceVersion ?? 0)
      }
      const want = {'kube-proxy': await current('kube-proxy'), felix: await current('felix')}
      const deadline = Date.now() + 10_000
      while ((latest['kube-proxy'] < want['kube-proxy'] || latest.felix < want.felix) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50))
      for (const r of reqs) r.destroy()
      const sorted = [...events].sort((a, b) => (a.rv < b.rv ? -1 : a.rv > b.rv ? 1 : 0))
      const state: {kp?: any; fc?: any} = {}
      const violations: string[] = []
      for (const e of sorted) {
        if (e.which === 'kube-proxy') state.kp = e.obj
        else state.fc = e.obj
        if (state.kp && state.fc && kubeProxyOff(state.kp) && !bpfOn(state.fc))
          violations.push(`at resourceVersion ${e.rv}: kube-proxy off, bpfEnabled ${state.fc?.spec?.bpfEnabled}`)
      }
      return {violated: violations.length > 0, events: events.length, violations}
    },
  }
}
