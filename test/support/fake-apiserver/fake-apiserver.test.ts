import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import type {KubeClient} from '../../../src/lib/kube/client.js'
import type {KubeObject} from '../../../src/lib/kube/types.js'
import {connect} from '../../../src/lib/kube/connect.js'
import {KubeApiError} from '../../../src/lib/kube/errors.js'
import {Resources} from '../../../src/lib/kube/resources.js'
import {type FakeApiServer, startFakeApiServer} from './index.js'
import {seedKubeadmBase} from './scenarios.js'

let server: FakeApiServer
let dir: string
let kube: KubeClient

/** Raw HTTPS request with the server's CA and token (for wire-level assertions). */
async function raw(
  method: string,
  path: string,
  opts: {body?: unknown; contentType?: string; token?: string | null} = {},
) {
  const {request} = await import('node:https')
  const url = new URL(server.url + path)
  const body =
    opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)
  return new Promise<{status: number; body: any; text: string}>((resolve, reject) => {
    const headers: Record<string, string> = {Accept: 'application/json'}
    if (opts.token !== null) headers.Authorization = `Bearer ${opts.token ?? server.token}`
    if (body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json'
    const req = request(url, {method, ca: server.caPem, headers}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: any
        try {
          parsed = JSON.parse(text)
        } catch {
          parsed = undefined
        }
        resolve({status: res.statusCode ?? 0, body: parsed, text})
      })
    })
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fake-apiserver-test-'))
})

afterAll(() => {
  rmSync(dir, {recursive: true, force: true})
})

beforeEach(async () => {
  server = await startFakeApiServer()
  server.store.seed([
    {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'default'}},
    {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'kube-system'}},
  ])
  kube = await connect({kubeconfig: server.writeKubeconfig(dir), timeoutMs: 5000})
})

afterEach(async () => {
  kube.close()
  await server.close()
})

describe('fake-apiserver core REST', () => {
  it('answers 401 Unauthorized without or with a wrong token', async () => {
    const none = await raw('GET', '/api/v1/namespaces', {token: null})
    expect(none.status).toBe(401)
    expect(none.body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Unauthorized',
      code: 401,
    })
    const wrong = await connect({
      kubeconfig: server.writeKubeconfig(join(dir, 'wrong'), {token: 'nope'}),
      timeoutMs: 5000,
    })
    await expect(wrong.list(Resources.namespaces)).rejects.toMatchObject({code: 401})
    wrong.close()
  })

  it('serves discovery including CRD-backed groups', async () => {
    const api = await raw('GET', '/api')
    expect(api.body).toMatchObject({kind: 'APIVersions', versions: ['v1']})
    const v1 = await raw('GET', '/api/v1')
    expect(v1.body.resources.map((r: any) => r.name)).toEqual(
      expect.arrayContaining(['pods', 'pods/exec', 'pods/log', 'nodes', 'configmaps']),
    )
    let groups = await kube.apiGroups()
    expect(groups.get('apps')).toEqual(['v1'])
    expect(groups.has('crd.projectcalico.org')).toBe(false)
    server.store.seedYaml(
      'test/fixtures/calico/v3.32.1/libcalico-go/config/crd/crd.projectcalico.org_felixconfigurations.yaml',
    )
    const apis = await raw('GET', '/apis')
    expect(apis.body.groups.map((g: any) => g.name)).toContain('crd.projectcalico.org')
    const g = await raw('GET', '/apis/crd.projectcalico.org')
    expect(g.body).toMatchObject({kind: 'APIGroup', name: 'crd.projectcalico.org', preferredVersion: {version: 'v1'}})
    const rl = await raw('GET', '/apis/crd.projectcalico.org/v1')
    expect(rl.body.resources).toEqual([
      expect.objectContaining({name: 'felixconfigurations', kind: 'FelixConfiguration', namespaced: false}),
    ])
    groups = await (await connect({kubeconfig: server.writeKubeconfig(dir), timeoutMs: 5000})).apiGroups()
    expect(groups.get('crd.projectcalico.org')).toEqual(['v1'])
  })

  it('creates, gets, replaces, patches and deletes with real Status errors', async () => {
    const cm = await kube.create<KubeObject>(Resources.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {name: 'a', namespace: 'default'},
      data: {x: '1'},
    })
    expect(cm.metadata.uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(cm.metadata.creationTimestamp).toBeDefined()
    expect(cm.metadata.resourceVersion).toMatch(/^\d+$/)
    const dup = await kube
      .create(Resources.configMaps, {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'a', namespace: 'default'}})
      .catch((e) => e)
    expect(dup).toBeInstanceOf(KubeApiError)
    expect(dup).toMatchObject({code: 409, reason: 'AlreadyExists'})
    const rawDup = await raw('POST', '/api/v1/namespaces/default/configmaps', {body: {metadata: {name: 'a'}}})
    expect(rawDup.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'configmaps "a" already exists',
      reason: 'AlreadyExists',
      details: {name: 'a', kind: 'configmaps'},
      code: 409,
    })
    expect(await kube.get(Resources.configMaps, 'a', 'default')).toMatchObject({data: {x: '1'}})
    expect(await kube.get(Resources.configMaps, 'nope', 'default')).toBeUndefined()
    const nf = await raw('GET', '/apis/apps/v1/namespaces/default/daemonsets/nope')
    expect(nf.body).toMatchObject({
      message: 'daemonsets.apps "nope" not found',
      reason: 'NotFound',
      details: {name: 'nope', group: 'apps', kind: 'daemonsets'},
      code: 404,
    })
    const replaced = await kube.replace(Resources.configMaps, {...cm, data: {x: '2'}})
    expect(Number(replaced.metadata.resourceVersion)).toBeGreaterThan(Number(cm.metadata.resourceVersion))
    const stale = await kube.replace(Resources.configMaps, {...cm, data: {x: '3'}}).catch((e) => e)
    expect(stale).toMatchObject({code: 409, reason: 'Conflict', isConflict: true})
    expect(stale.message).toContain(
      'the object has been modified; please apply your changes to the latest version and try again',
    )
    expect(server.store.get('v1', 'ConfigMap', 'a', 'default').data).toEqual({x: '2'})
    expect(await kube.delete(Resources.configMaps, 'a', 'default')).toBe(true)
    expect(await kube.delete(Resources.configMaps, 'a', 'default')).toBe(false)
    const noNs = await raw('POST', '/api/v1/namespaces/missing/configmaps', {body: {metadata: {name: 'a'}}})
    expect(noNs.body).toMatchObject({code: 404, message: 'namespaces "missing" not found'})
  })

  it('bumps generation only when the spec changes', async () => {
    server.store.seed([dsObject('kube-system', 'ds1', {})])
    const ds = await kube.get(Resources.daemonSets, 'ds1', 'kube-system')
    expect(ds?.metadata.generation).toBe(1)
    const labelled = await kube.patch(
      Resources.daemonSets,
      'ds1',
      'kube-system',
      {metadata: {labels: {x: 'y'}}},
      'merge',
    )
    expect(labelled.metadata.generation).toBe(1)
    const changed = await kube.patch(Resources.daemonSets, 'ds1', 'kube-system', {spec: {minReadySeconds: 5}}, 'merge')
    expect(changed.metadata.generation).toBe(2)
  })
})

function dsObject(namespace: string, name: string, nodeSelector: Record<string, string>): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {name, namespace, labels: {'k8s-app': name}},
    spec: {
      selector: {matchLabels: {'k8s-app': name}},
      template: {
        metadata: {labels: {'k8s-app': name}},
        spec: {nodeSelector, containers: [{name, image: `registry.k8s.io/${name}:v1`}]},
      },
    },
  }
}

const FELIX_CRD = 'test/fixtures/calico/v3.32.1/libcalico-go/config/crd/crd.projectcalico.org_felixconfigurations.yaml'
const IPPOOL_CRD = 'test/fixtures/calico/v3.32.1/libcalico-go/config/crd/crd.projectcalico.org_ippools.yaml'
const INSTALLATION_CRD =
  'test/fixtures/calico/v3.32.1/charts/crd.projectcalico.org.v1/templates/operator.tigera.io_installations.yaml'

function nodes(n: number, labels: (i: number) => Record<string, string> = () => ({})): object[] {
  return Array.from({length: n}, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {name: `n${String(i).padStart(4, '0')}`, labels: {'kubernetes.io/os': 'linux', ...labels(i)}},
    status: {addresses: [{type: 'InternalIP', address: `10.0.0.${i + 1}`}]},
  }))
}

describe('fake-apiserver lists', () => {
  it('filters by label selector (=, ==, !=, in, notin, exists, !key, AND)', async () => {
    server.store.seed(nodes(6, (i) => ({zone: ['a', 'b', 'c'][i % 3]!, ...(i < 2 ? {gpu: 'true'} : {})})))
    const names = async (labelSelector: string) =>
      (await kube.list(Resources.nodes, undefined, {labelSelector})).map((n) => n.metadata.name)
    expect(await names('zone=a')).toEqual(['n0000', 'n0003'])
    expect(await names('zone==b')).toEqual(['n0001', 'n0004'])
    expect(await names('zone!=a')).toEqual(['n0001', 'n0002', 'n0004', 'n0005'])
    expect(await names('zone in (a, c)')).toEqual(['n0000', 'n0002', 'n0003', 'n0005'])
    expect(await names('zone notin (a,c)')).toEqual(['n0001', 'n0004'])
    expect(await names('gpu')).toEqual(['n0000', 'n0001'])
    expect(await names('!gpu')).toEqual(['n0002', 'n0003', 'n0004', 'n0005'])
    expect(await names('gpu,zone=b')).toEqual(['n0001'])
    const bad = await raw('GET', '/api/v1/nodes?labelSelector=' + encodeURIComponent('a b c'))
    expect(bad.status).toBe(400)
  })

  it('filters by field selector and sorts by namespace/name', async () => {
    server.store.seed([
      {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'b'}},
      {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'a'}},
      ...['b', 'a'].flatMap((ns) =>
        ['p2', 'p1'].map((name, i) => ({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {name, namespace: ns},
          spec: {nodeName: `node${i}`, containers: [{name: 'c', image: 'x'}]},
          status: {phase: i ? 'Pending' : 'Running'},
        })),
      ),
    ])
    const all = await kube.list(Resources.pods)
    expect(all.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(['a/p1', 'a/p2', 'b/p1', 'b/p2'])
    const onNode0 = await kube.list(Resources.pods, undefined, {fieldSelector: 'spec.nodeName=node0'})
    expect(onNode0.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(['a/p2', 'b/p2'])
    const notRunning = await kube.list(Resources.pods, 'b', {fieldSelector: 'status.phase!=Running'})
    expect(notRunning.map((p) => p.metadata.name)).toEqual(['p1'])
    const byName = await kube.list(Resources.pods, undefined, {fieldSelector: 'metadata.name=p1,metadata.namespace=a'})
    expect(byName).toHaveLength(1)
    const bad = await raw('GET', '/api/v1/pods?fieldSelector=spec.bogus%3Dx')
    expect(bad.status).toBe(400)
    const list = await raw('GET', '/api/v1/namespaces/a/pods')
    expect(list.body).toMatchObject({
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: {resourceVersion: server.store.resourceVersion()},
    })
    expect(list.body.items[0].kind).toBeUndefined() // built-in list items carry no kind, as from a real server
  })

  it('paginates with limit and an opaque continue token', async () => {
    server.store.seed(nodes(7))
    const p1 = await raw('GET', '/api/v1/nodes?limit=3')
    expect(p1.body.items.map((n: any) => n.metadata.name)).toEqual(['n0000', 'n0001', 'n0002'])
    expect(p1.body.metadata.remainingItemCount).toBe(4)
    const p2 = await raw('GET', `/api/v1/nodes?limit=3&continue=${p1.body.metadata.continue}`)
    expect(p2.body.items.map((n: any) => n.metadata.name)).toEqual(['n0003', 'n0004', 'n0005'])
    const p3 = await raw('GET', `/api/v1/nodes?limit=3&continue=${p2.body.metadata.continue}`)
    expect(p3.body.items.map((n: any) => n.metadata.name)).toEqual(['n0006'])
    expect(p3.body.metadata.continue).toBeUndefined()
    server.resetLog()
    const all = await kube.list(Resources.nodes, undefined, {pageSize: 2})
    expect(all).toHaveLength(7)
    expect(server.log.filter((r) => r.verb === 'list')).toHaveLength(4)
    expect(server.log[1]!.query.get('continue')).toBeTruthy()
    const garbage = await raw('GET', '/api/v1/nodes?limit=3&continue=garbage')
    expect(garbage.status).toBe(400)
  })

  it('lists 5,000 nodes and 5,000 pods in pages of 500 (server time bounded)', async () => {
    server.store.seed(nodes(5000))
    server.store.seed([dsObject('kube-system', 'big', {})])
    expect(server.store.list('v1', 'Pod')).toHaveLength(5000)
    await kube.list(Resources.namespaces) // warm up the connection
    server.resetLog()
    const t0 = performance.now()
    const [n, p] = await Promise.all([kube.list(Resources.nodes), kube.list(Resources.pods, 'kube-system')])
    const ms = performance.now() - t0
    expect(n).toHaveLength(5000)
    expect(p).toHaveLength(5000)
    expect(server.log.filter((r) => r.verb === 'list')).toHaveLength(20)
    // The server's share (JSON of ~25 MB of objects; the client's JSON.parse is most of the rest). Generous bounds
    // because test machines are shared: with load average ~9 on 2 cores it measured ~200 ms server-side and 1–2 s
    // end to end.
    const serverMs = server.log.reduce((a, r) => a + (r.durationMs ?? 0), 0)
    expect(serverMs).toBeLessThan(1500)
    expect(ms).toBeLessThan(6000)
  })
})

describe('fake-apiserver patches', () => {
  beforeEach(() => {
    server.store.seed([
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: {name: 'kube-proxy', namespace: 'kube-system', labels: {'k8s-app': 'kube-proxy'}},
        spec: {
          selector: {matchLabels: {'k8s-app': 'kube-proxy'}},
          template: {
            metadata: {labels: {'k8s-app': 'kube-proxy'}},
            spec: {
              nodeSelector: {'kubernetes.io/os': 'linux'},
              containers: [
                {
                  name: 'kube-proxy',
                  image: 'kp:1',
                  env: [{name: 'A', value: '1'}],
                  ports: [{containerPort: 10249, name: 'metrics'}],
                },
              ],
              volumes: [{name: 'v1', hostPath: {path: '/a'}}],
              tolerations: [{operator: 'Exists'}],
            },
          },
        },
      },
    ])
  })

  it('merge patch: null deletes, lists are replaced', async () => {
    const out = await kube.patch<any>(
      Resources.daemonSets,
      'kube-proxy',
      'kube-system',
      {
        spec: {
          template: {
            spec: {
              nodeSelector: {'kubernetes.io/os': null, 'non-calico': 'true'},
              containers: [{name: 'other', image: 'o:1'}],
            },
          },
        },
      },
      'merge',
    )
    expect(out.spec.template.spec.nodeSelector).toEqual({'non-calico': 'true'})
    expect(out.spec.template.spec.containers).toEqual([{name: 'other', image: 'o:1'}])
    expect(server.writes().at(-1)).toMatchObject({
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      verb: 'patch',
      resource: 'daemonsets',
      name: 'kube-proxy',
    })
    expect(server.writes().at(-1)!.query.get('fieldManager')).toBe('ebpfctl')
  })

  it('strategic merge patch merges containers/env/volumes by name and atomic lists are replaced', async () => {
    const out = await kube.patch<any>(
      Resources.daemonSets,
      'kube-proxy',
      'kube-system',
      {
        spec: {
          template: {
            metadata: {annotations: {'kubectl.kubernetes.io/restartedAt': '2026-12-01T00:00:00Z'}},
            spec: {
              nodeSelector: {'non-calico': 'true'},
              containers: [
                {
                  name: 'kube-proxy',
                  env: [
                    {name: 'B', value: '2'},
                    {name: 'A', value: '9'},
                  ],
                },
                {name: 'sidecar', image: 's:1'},
              ],
              volumes: [{name: 'v2', hostPath: {path: '/b'}}],
              tolerations: [{key: 'x', operator: 'Exists'}],
            },
          },
        },
      },
      'strategic',
    )
    const spec = out.spec.template.spec
    expect(spec.nodeSelector).toEqual({'kubernetes.io/os': 'linux', 'non-calico': 'true'})
    expect(spec.containers.map((c: any) => c.name)).toEqual(['kube-proxy', 'sidecar'])
    expect(spec.containers[0].image).toBe('kp:1')
    expect(spec.containers[0].env).toEqual([
      {name: 'A', value: '9'},
      {name: 'B', value: '2'},
    ])
    expect(spec.containers[0].ports).toEqual([{containerPort: 10249, name: 'metrics'}])
    expect(spec.volumes.map((v: any) => v.name)).toEqual(['v1', 'v2'])
    expect(spec.tolerations).toEqual([{key: 'x', operator: 'Exists'}])
    const removed = await kube.patch<any>(
      Resources.daemonSets,
      'kube-proxy',
      'kube-system',
      {
        spec: {
          template: {spec: {nodeSelector: {'non-calico': null}, containers: [{name: 'sidecar', $patch: 'delete'}]}},
        },
      },
      'strategic',
    )
    expect(removed.spec.template.spec.nodeSelector).toEqual({'kubernetes.io/os': 'linux'})
    expect(removed.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['kube-proxy'])
  })

  it('JSON patch: add/remove/replace/move/copy/test; a failed test is 422 and changes nothing', async () => {
    const before = server.store.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
    const out = await kube.patch<any>(
      Resources.daemonSets,
      'kube-proxy',
      'kube-system',
      [
        {op: 'test', path: '/spec/template/spec/nodeSelector/kubernetes.io~1os', value: 'linux'},
        {op: 'add', path: '/spec/template/spec/nodeSelector/non-calico', value: 'true'},
        {op: 'add', path: '/spec/template/spec/containers/0/env/-', value: {name: 'C', value: '3'}},
        {op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'kp:2'},
        {op: 'copy', from: '/spec/template/spec/containers/0/image', path: '/metadata/labels/img'},
        {op: 'move', from: '/metadata/labels/img', path: '/metadata/labels/img2'},
        {op: 'remove', path: '/spec/template/spec/tolerations'},
      ],
      'json',
    )
    expect(out.spec.template.spec.nodeSelector).toEqual({'kubernetes.io/os': 'linux', 'non-calico': 'true'})
    expect(out.spec.template.spec.containers[0].env.map((e: any) => e.name)).toEqual(['A', 'C'])
    expect(out.metadata.labels).toEqual({'k8s-app': 'kube-proxy', img2: 'kp:2'})
    expect(out.spec.template.spec.tolerations).toBeUndefined()
    expect(out.metadata.generation).toBe(before.metadata.generation + 1)
    const rv = out.metadata.resourceVersion
    const failed = await kube
      .patch(
        Resources.daemonSets,
        'kube-proxy',
        'kube-system',
        [
          {op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'kp:3'},
          {op: 'test', path: '/spec/template/spec/containers/0/image', value: 'nope'},
        ],
        'json',
      )
      .catch((e) => e)
    expect(failed).toMatchObject({code: 422, reason: 'Invalid'})
    expect(server.store.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system').metadata.resourceVersion).toBe(rv)
    const notFound = await kube.patch(Resources.daemonSets, 'nope', 'kube-system', {a: 1}, 'merge').catch((e) => e)
    expect(notFound).toMatchObject({code: 404})
  })

  it('answers 415 to a strategic merge patch of a custom resource and to unknown Content-Types', async () => {
    server.store.seedYaml(FELIX_CRD)
    server.store.seed([
      {apiVersion: 'crd.projectcalico.org/v1', kind: 'FelixConfiguration', metadata: {name: 'default'}, spec: {}},
    ])
    const err = await kube
      .patch(Resources.felixConfigurations, 'default', undefined, {spec: {bpfEnabled: true}}, 'strategic')
      .catch((e) => e)
    expect(err).toMatchObject({code: 415, reason: 'UnsupportedMediaType'})
    const r = await raw('PATCH', '/apis/crd.projectcalico.org/v1/felixconfigurations/default', {
      body: {spec: {}},
      contentType: 'application/strategic-merge-patch+json',
    })
    expect(r.body).toMatchObject({
      kind: 'Status',
      code: 415,
      reason: 'UnsupportedMediaType',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    })
    const odd = await raw('PATCH', '/api/v1/namespaces/default', {body: {}, contentType: 'text/plain'})
    expect(odd.status).toBe(415)
    const ok = await kube.patch<any>(
      Resources.felixConfigurations,
      'default',
      undefined,
      {spec: {bpfEnabled: true}},
      'merge',
    )
    expect(ok.spec.bpfEnabled).toBe(true)
  })
})

describe('fake-apiserver CRD validation', () => {
  beforeEach(() => {
    server.store.seedYaml(FELIX_CRD)
    server.store.seedYaml(IPPOOL_CRD)
    server.store.seed([
      {
        apiVersion: 'crd.projectcalico.org/v1',
        kind: 'FelixConfiguration',
        metadata: {name: 'default'},
        spec: {bpfLogLevel: ''},
      },
    ])
  })

  it('rejects a bad bpfExternalServiceMode with 422 Invalid worded like kube-apiserver, and applies nothing', async () => {
    const rv = server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default').metadata.resourceVersion
    const r = await raw('PATCH', '/apis/crd.projectcalico.org/v1/felixconfigurations/default', {
      body: {spec: {bpfExternalServiceMode: 'dsr2'}},
      contentType: 'application/merge-patch+json',
    })
    expect(r.status).toBe(422)
    expect(r.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      reason: 'Invalid',
      code: 422,
      message: `FelixConfiguration.crd.projectcalico.org "default" is invalid: spec.bpfExternalServiceMode: Invalid value: "dsr2": spec.bpfExternalServiceMode in body should match '^(?i)(Tunnel|DSR)?$'`,
      details: {
        name: 'default',
        group: 'crd.projectcalico.org',
        kind: 'FelixConfiguration',
        causes: [
          {
            reason: 'FieldValueInvalid',
            field: 'spec.bpfExternalServiceMode',
            message: `Invalid value: "dsr2": spec.bpfExternalServiceMode in body should match '^(?i)(Tunnel|DSR)?$'`,
          },
        ],
      },
    })
    expect(server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default').metadata.resourceVersion).toBe(
      rv,
    )
    const viaClient = await kube
      .patch(Resources.felixConfigurations, 'default', undefined, {spec: {bpfExternalServiceMode: 'dsr2'}}, 'merge')
      .catch((e) => e)
    expect(viaClient).toMatchObject({code: 422, reason: 'Invalid'})
    // (?i): case-insensitive like Go's regexp
    const dsr = await kube.patch<any>(
      Resources.felixConfigurations,
      'default',
      undefined,
      {spec: {bpfExternalServiceMode: 'dsr'}},
      'merge',
    )
    expect(dsr.spec.bpfExternalServiceMode).toBe('dsr')
  })

  it('checks types and enums, prunes unknown fields, drops nulls, accepts int-or-string', async () => {
    const bad = await kube
      .patch(Resources.felixConfigurations, 'default', undefined, {spec: {bpfEnabled: 'yes'}}, 'merge')
      .catch((e) => e)
    expect(bad).toMatchObject({code: 422})
    expect(bad.message).toContain('spec.bpfEnabled in body must be of type boolean')
    const pruned = await kube.patch<any>(
      Resources.felixConfigurations,
      'default',
      undefined,
      {spec: {bpfEnabled: true, notAField: 1}, extra: 2},
      'merge',
    )
    expect(pruned.spec).toMatchObject({bpfEnabled: true})
    expect(pruned.spec.notAField).toBeUndefined()
    expect(pruned.extra).toBeUndefined()
    for (const port of [9091, '9091']) {
      // prometheusMetricsPort is an integer; natPortRange is int-or-string
      const ok = await kube.patch<any>(
        Resources.felixConfigurations,
        'default',
        undefined,
        {spec: {natPortRange: port === 9091 ? 32768 : '32768:60999'}},
        'merge',
      )
      expect(ok.spec.natPortRange).toBeDefined()
    }
    const pool = await kube
      .create<any>(Resources.ipPools, {
        apiVersion: 'crd.projectcalico.org/v1',
        kind: 'IPPool',
        metadata: {name: 'p'},
        spec: {cidr: '10.1.0.0/16', ipipMode: 'Sometimes'},
      } as any)
      .catch((e) => e)
    expect(pool).toMatchObject({code: 422})
    expect(pool.message).toContain(
      'spec.ipipMode: Unsupported value: "Sometimes": supported values: "Never", "Always", "CrossSubnet"',
    )
    const noRv = await raw('PUT', '/apis/crd.projectcalico.org/v1/felixconfigurations/default', {
      body: {apiVersion: 'crd.projectcalico.org/v1', kind: 'FelixConfiguration', metadata: {name: 'default'}, spec: {}},
    })
    expect(noRv.status).toBe(422)
    expect(noRv.body.message).toContain('metadata.resourceVersion: Invalid value: 0x0: must be specified for an update')
  })

  it('validates the real Installation CRD (enums under spec.calicoNetwork)', async () => {
    server.store.seedYaml(INSTALLATION_CRD)
    server.store.seed([
      {
        apiVersion: 'operator.tigera.io/v1',
        kind: 'Installation',
        metadata: {name: 'default'},
        spec: {calicoNetwork: {linuxDataplane: 'Iptables'}},
      },
    ])
    const bad = await kube
      .patch(Resources.installations, 'default', undefined, {spec: {calicoNetwork: {linuxDataplane: 'EBPF'}}}, 'merge')
      .catch((e) => e)
    expect(bad).toMatchObject({code: 422})
    expect(bad.message).toContain(
      'spec.calicoNetwork.linuxDataplane: Unsupported value: "EBPF": supported values: "Iptables", "BPF", "VPP", "Nftables"',
    )
    const ok = await kube.patch<any>(
      Resources.installations,
      'default',
      undefined,
      {spec: {calicoNetwork: {linuxDataplane: 'BPF', bpfNetworkBootstrap: 'Enabled', kubeProxyManagement: 'Enabled'}}},
      'merge',
    )
    expect(ok.spec.calicoNetwork).toMatchObject({
      linuxDataplane: 'BPF',
      bpfNetworkBootstrap: 'Enabled',
      kubeProxyManagement: 'Enabled',
    })
    expect(() =>
      server.store.seed([
        {
          apiVersion: 'operator.tigera.io/v1',
          kind: 'Installation',
          metadata: {name: 'default'},
          spec: {calicoNetwork: {hostPorts: 'Maybe'}},
        },
      ]),
    ).toThrow(/cannot seed Installation default: .*hostPorts/)
  })

  it('serves custom resources only while their CRD exists', async () => {
    expect(await kube.get(Resources.felixConfigurations, 'default')).toBeDefined()
    expect(await kube.delete(Resources.crds, 'felixconfigurations.crd.projectcalico.org')).toBe(true)
    expect(await kube.list(Resources.felixConfigurations)).toEqual([])
    const r = await raw('GET', '/apis/crd.projectcalico.org/v1/felixconfigurations/default')
    expect(r.body).toMatchObject({code: 404, message: 'the server could not find the requested resource'})
    expect((await kube.apiGroups()).get('crd.projectcalico.org')).toEqual(['v1']) // IPPool CRD still there
  })
})

describe('fake-apiserver controllers', () => {
  it('keeps one DaemonSet pod per matching node and follows nodeSelector changes', async () => {
    seedKubeadmBase(server.store, {nodes: 4})
    const kp = async () => await kube.list<any>(Resources.pods, 'kube-system', {labelSelector: 'k8s-app=kube-proxy'})
    const before = await kp()
    expect(before.map((p) => p.spec.nodeName).sort()).toEqual(['node-1', 'node-2', 'node-3', 'node-4'])
    const pod = before[0]
    expect(pod.metadata.name).toMatch(/^kube-proxy-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
    expect(pod.metadata.labels).toMatchObject({'k8s-app': 'kube-proxy', 'controller-revision-hash': expect.any(String)})
    expect(pod.metadata.ownerReferences).toEqual([
      expect.objectContaining({kind: 'DaemonSet', name: 'kube-proxy', controller: true}),
    ])
    expect(pod.status.phase).toBe('Running')
    expect(pod.status.conditions).toContainEqual(expect.objectContaining({type: 'Ready', status: 'True'}))
    expect(pod.status.containerStatuses).toEqual([expect.objectContaining({name: 'kube-proxy', ready: true})])
    expect(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      {matchFields: [{key: 'metadata.name', operator: 'In', values: [pod.spec.nodeName]}]},
    ])

    await kube.patch(
      Resources.daemonSets,
      'kube-proxy',
      'kube-system',
      {spec: {template: {spec: {nodeSelector: {'non-calico': 'true'}}}}},
      'strategic',
    )
    expect(await kp()).toEqual([])
    let ds = await kube.get<any>(Resources.daemonSets, 'kube-proxy', 'kube-system')
    expect(ds.status).toMatchObject({
      desiredNumberScheduled: 0,
      currentNumberScheduled: 0,
      numberReady: 0,
      observedGeneration: ds.metadata.generation,
    })

    // a node that matches gets a pod
    const n2 = server.store.get('v1', 'Node', 'node-2')
    n2.metadata.labels['non-calico'] = 'true'
    server.store.put(n2)
    expect((await kp()).map((p) => p.spec.nodeName)).toEqual(['node-2'])

    await kube.patch(
      Resources.daemonSets,
      'kube-proxy',
      'kube-system',
      {spec: {template: {spec: {nodeSelector: {'non-calico': null}}}}},
      'merge',
    )
    const after = await kp()
    expect(after).toHaveLength(4)
    expect(after.map((p) => p.metadata.name)).not.toContain(before[0].metadata.name)
    ds = await kube.get<any>(Resources.daemonSets, 'kube-proxy', 'kube-system')
    expect(ds.status).toMatchObject({
      desiredNumberScheduled: 4,
      currentNumberScheduled: 4,
      updatedNumberScheduled: 4,
      numberReady: 4,
      numberAvailable: 4,
      observedGeneration: ds.metadata.generation,
    })
    expect(ds.status.numberUnavailable).toBeUndefined()
  })

  it('replaces every pod when the template changes (restartedAt) and brings deleted pods back', async () => {
    seedKubeadmBase(server.store, {nodes: 3})
    const names = async (sel: string) =>
      (await kube.list(Resources.pods, 'kube-system', {labelSelector: sel})).map((p) => p.metadata.name)
    const before = await names('k8s-app=kube-proxy')
    await kube.patch(
      Resources.daemonSets,
      'kube-proxy',
      'kube-system',
      {spec: {template: {metadata: {annotations: {'kubectl.kubernetes.io/restartedAt': new Date().toISOString()}}}}},
      'strategic',
    )
    const after = await names('k8s-app=kube-proxy')
    expect(after).toHaveLength(3)
    expect(after.filter((n) => before.includes(n))).toEqual([])

    const victim = after[0]!
    expect(await kube.delete(Resources.pods, victim, 'kube-system')).toBe(true)
    const healed = await names('k8s-app=kube-proxy')
    expect(healed).toHaveLength(3)
    expect(healed).not.toContain(victim)

    // Deployment: coredns has 2 replicas; a deleted pod comes back under a new name
    const dns = await names('k8s-app=kube-dns')
    expect(dns).toHaveLength(2)
    expect(dns[0]).toMatch(/^coredns-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
    await kube.delete(Resources.pods, dns[0]!, 'kube-system')
    const dns2 = await names('k8s-app=kube-dns')
    expect(dns2).toHaveLength(2)
    expect(dns2).not.toContain(dns[0])
    const d = await kube.get<any>(Resources.deployments, 'coredns', 'kube-system')
    expect(d.status).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      updatedReplicas: 2,
      availableReplicas: 2,
      observedGeneration: 1,
    })
    await kube.patch(
      Resources.deployments,
      'coredns',
      'kube-system',
      {spec: {replicas: 3, template: {spec: {containers: [{name: 'coredns', env: [{name: 'X', value: '1'}]}]}}}},
      'strategic',
    )
    const dns3 = await names('k8s-app=kube-dns')
    expect(dns3).toHaveLength(3)
    expect(dns3.filter((n) => dns2.includes(n))).toEqual([])
    expect((await kube.get<any>(Resources.deployments, 'coredns', 'kube-system')).status).toMatchObject({
      readyReplicas: 3,
      updatedReplicas: 3,
      observedGeneration: 2,
    })
    // deleting the owner removes its pods
    await kube.delete(Resources.daemonSets, 'kube-proxy', 'kube-system')
    expect(await names('k8s-app=kube-proxy')).toEqual([])
  })
})

describe('fake-apiserver exec and logs', () => {
  beforeEach(() => {
    seedKubeadmBase(server.store, {nodes: 2})
  })

  it('runs exec over WebSocket through client-node (exit 0 and 3, stdout/stderr)', async () => {
    const pod = (await kube.list<any>(Resources.pods, 'kube-system', {labelSelector: 'k8s-app=kube-proxy'}))[0]
    const seen: any[] = []
    server.setExecHandler((req) => {
      seen.push(req)
      if (req.command[0] === 'uname') return {stdout: '6.8.0-45-generic\n', exitCode: 0}
      return {stdout: 'partial', stderr: 'boom\n', exitCode: 3}
    })
    const ok = await kube.exec('kube-system', pod.metadata.name, 'kube-proxy', ['uname', '-r'], {timeoutMs: 5000})
    expect(ok).toEqual({stdout: '6.8.0-45-generic\n', stderr: '', exitCode: 0})
    const bad = await kube.exec('kube-system', pod.metadata.name, 'kube-proxy', ['sh', '-c', 'exit 3'], {
      timeoutMs: 5000,
    })
    expect(bad).toEqual({stdout: 'partial', stderr: 'boom\n', exitCode: 3})
    expect(seen[0]).toEqual({
      namespace: 'kube-system',
      pod: pod.metadata.name,
      container: 'kube-proxy',
      command: ['uname', '-r'],
      node: pod.spec.nodeName,
    })
    const execs = server.log.filter((r) => r.verb === 'exec')
    expect(execs).toHaveLength(2)
    expect(execs[0]).toMatchObject({status: 101, resource: 'pods', subresource: 'exec', name: pod.metadata.name})
    expect(execs[0]!.query.getAll('command')).toEqual(['uname', '-r'])
    expect(server.writes()).toEqual([])
    // the default handler, a missing pod, and a big binary stdout
    server.setExecHandler(() => ({stdout: Buffer.alloc(200_000, 0x41), exitCode: 0}))
    const big = await kube.exec('kube-system', pod.metadata.name, 'kube-proxy', ['cat'], {timeoutMs: 5000})
    expect(big.stdout).toHaveLength(200_000)
    await expect(kube.exec('kube-system', 'nope', 'kube-proxy', ['true'], {timeoutMs: 5000})).rejects.toBeDefined()
  })

  it('exec without a handler exits 126 with "no exec handler"', async () => {
    const pod = (await kube.list<any>(Resources.pods, 'kube-system', {labelSelector: 'k8s-app=kube-proxy'}))[0]
    const r = await kube.exec('kube-system', pod.metadata.name, 'kube-proxy', ['true'], {timeoutMs: 5000})
    expect(r).toEqual({stdout: '', stderr: 'no exec handler', exitCode: 126})
  })

  it('serves pod logs from setPodLogs with tailLines', async () => {
    const pod = (await kube.list<any>(Resources.pods, 'kube-system', {labelSelector: 'k8s-app=kube-proxy'}))[0]
    expect(await kube.podLogs('kube-system', pod.metadata.name, 'kube-proxy')).toBe('')
    server.setPodLogs((r) => `a ${r.node}\nb\nc\n`)
    expect(await kube.podLogs('kube-system', pod.metadata.name, 'kube-proxy', {tailLines: 2})).toBe('b\nc\n')
    expect(await kube.podLogs('kube-system', pod.metadata.name, 'kube-proxy')).toBe(`a ${pod.spec.nodeName}\nb\nc\n`)
    await expect(kube.podLogs('kube-system', pod.metadata.name, 'nope')).rejects.toMatchObject({code: 400})
    await expect(kube.podLogs('kube-system', 'nope', 'kube-proxy')).rejects.toMatchObject({code: 404})
  })
})

describe('fake-apiserver RBAC denials, faults and the request log', () => {
  it('answers 403 with the RBAC message for forbidden rules', async () => {
    server.forbid({verb: 'list', resource: 'nodes'})
    server.forbid({verb: 'patch', resource: 'configmaps', namespace: 'kube-system'})
    const r = await raw('GET', '/api/v1/nodes')
    expect(r.body).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message:
        'nodes is forbidden: User "system:serviceaccount:default:ebpfctl-test" cannot list resource "nodes" in API group "" at the cluster scope',
    })
    await expect(kube.list(Resources.nodes)).rejects.toMatchObject({code: 403})
    server.store.seed([{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'c', namespace: 'kube-system'}}])
    const p = await raw('PATCH', '/api/v1/namespaces/kube-system/configmaps/c', {
      body: {data: {a: 'b'}},
      contentType: 'application/merge-patch+json',
    })
    expect(p.body.message).toBe(
      'configmaps "c" is forbidden: User "system:serviceaccount:default:ebpfctl-test" cannot patch resource "configmaps" in API group "" in the namespace "kube-system"',
    )
    expect(await kube.get(Resources.configMaps, 'c', 'kube-system')).toBeDefined()
    server.clearForbidden()
    expect(await kube.list(Resources.nodes)).toEqual([])
  })

  it('injects 500 without applying, drops the connection, hangs, and delays', async () => {
    server.store.seed([
      {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'c', namespace: 'default'}, data: {a: '1'}},
    ])
    server.onRequest((r) => (r.verb === 'patch' ? {status: 500} : undefined))
    const e500 = await kube.patch(Resources.configMaps, 'c', 'default', {data: {a: '2'}}, 'merge').catch((e) => e)
    expect(e500).toMatchObject({code: 500, reason: 'InternalError', isTransient: true})
    expect(server.store.get('v1', 'ConfigMap', 'c', 'default').data).toEqual({a: '1'})
    expect(server.log.at(-1)).toMatchObject({status: 500, fault: 'status 500'})

    server.onRequest((r) => (r.verb === 'get' ? 'drop' : undefined))
    const dropped = await kube.get(Resources.configMaps, 'c', 'default').catch((e) => e)
    expect(dropped).toMatchObject({code: 0})
    expect(dropped.cause?.code).toBe('ECONNRESET')

    const short = await connect({kubeconfig: server.writeKubeconfig(join(dir, 'short')), timeoutMs: 300})
    server.onRequest(() => 'hang')
    const t0 = Date.now()
    const hung = await short.list(Resources.configMaps, 'default').catch((e) => e)
    expect(hung).toMatchObject({code: 0})
    expect(hung.message).toContain('no answer within 0.3s')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    short.close()

    server.onRequest(() => ({delayMs: 150}))
    const t1 = Date.now()
    expect(await kube.get(Resources.configMaps, 'c', 'default')).toBeDefined()
    expect(Date.now() - t1).toBeGreaterThanOrEqual(140)
    server.onRequest(undefined)
    expect(await kube.get(Resources.configMaps, 'c', 'default')).toBeDefined()
  })

  it('records every request; writes() lists only POST/PUT/PATCH/DELETE', async () => {
    server.resetLog()
    await kube.list(Resources.namespaces)
    await kube.create(Resources.configMaps, {metadata: {name: 'x', namespace: 'default'}})
    await kube.patch(Resources.configMaps, 'x', 'default', {data: {k: 'v'}}, 'merge')
    await kube.get(Resources.configMaps, 'x', 'default')
    await kube.delete(Resources.configMaps, 'x', 'default')
    expect(server.log.map((r) => `${r.method} ${r.verb} ${r.status}`)).toEqual([
      'GET list 200',
      'POST create 201',
      'PATCH patch 200',
      'GET get 200',
      'DELETE delete 200',
    ])
    expect(server.writes().map((r) => r.verb)).toEqual(['create', 'patch', 'delete'])
    expect(server.writes()[1]).toMatchObject({
      path: '/api/v1/namespaces/default/configmaps/x',
      namespace: 'default',
      name: 'x',
      resource: 'configmaps',
      contentType: 'application/merge-patch+json',
      body: '{"data":{"k":"v"}}',
    })
    expect(server.log[0]!.query.get('limit')).toBe('500')
    server.resetLog()
    expect(server.log).toEqual([])
  })
})

describe('fake-apiserver extras', () => {
  it('serves plain HTTP with tls: false (kubeconfig with insecure-skip-tls-verify)', async () => {
    const plain = await startFakeApiServer({tls: false, token: 't0'})
    try {
      expect(plain.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(plain.caPem).toBe('')
      const c = await connect({
        kubeconfig: plain.writeKubeconfig(join(dir, 'plain'), {context: 'plain'}),
        timeoutMs: 5000,
      })
      expect(c.contextName).toBe('plain')
      expect(await c.list(Resources.nodes)).toEqual([])
      c.close()
    } finally {
      await plain.close()
    }
  })

  it('keeps status on main-resource writes and changes only status through /status', async () => {
    seedKubeadmBase(server.store, {nodes: 1})
    const ds = await kube.get<any>(Resources.daemonSets, 'kube-proxy', 'kube-system')
    const replaced = await kube.replace<any>(Resources.daemonSets, {...ds, status: {numberReady: 99}})
    expect(replaced.status.numberReady).toBe(1)
    server.store.seed([{apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'x'}, status: {phase: 'Active'}}])
    const ns = await raw('PATCH', '/api/v1/namespaces/x/status', {
      body: {status: {phase: 'Terminating'}, metadata: {labels: {a: 'b'}}},
      contentType: 'application/merge-patch+json',
    })
    expect(ns.status).toBe(200)
    expect(ns.body.status.phase).toBe('Terminating')
    expect(ns.body.metadata.labels).toEqual({'kubernetes.io/metadata.name': 'x'})
    expect((await raw('GET', '/api/v1/namespaces/x/bogus')).status).toBe(404)
  })

  it('streams watch events after the request', async () => {
    const {request} = await import('node:https')
    const events: any[] = []
    const req = request(`${server.url}/api/v1/namespaces/default/configmaps?watch=true`, {
      ca: server.caPem,
      headers: {Authorization: `Bearer ${server.token}`},
    })
    const got = new Promise<void>((resolve) => {
      req.on('response', (res) => {
        let buf = ''
        res.on('data', (c: Buffer) => {
          buf += c.toString()
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            events.push(JSON.parse(buf.slice(0, i)))
            buf = buf.slice(i + 1)
          }
          if (events.length >= 2) resolve()
        })
      })
    })
    req.end()
    await new Promise((r) => setTimeout(r, 100))
    await kube.create(Resources.configMaps, {metadata: {name: 'w', namespace: 'default'}})
    await kube.delete(Resources.configMaps, 'w', 'default')
    await got
    req.destroy()
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED w', 'DELETED w'])
    expect(server.log.find((r) => r.verb === 'watch')).toBeDefined()
  })

  it('honours dryRun=All: validates and answers, stores nothing', async () => {
    server.store.seedYaml(FELIX_CRD)
    server.store.seed([
      {apiVersion: 'crd.projectcalico.org/v1', kind: 'FelixConfiguration', metadata: {name: 'default'}, spec: {}},
    ])
    const rv = server.store.resourceVersion()
    const patch = (body: unknown) =>
      raw('PATCH', '/apis/crd.projectcalico.org/v1/felixconfigurations/default?dryRun=All', {
        body,
        contentType: 'application/merge-patch+json',
      })
    const ok = await patch({spec: {bpfEnabled: true}})
    expect(ok.status).toBe(200)
    expect(ok.body.spec.bpfEnabled).toBe(true)
    expect((await patch({spec: {bpfExternalServiceMode: 'nope'}})).status).toBe(422)
    const created = await raw('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', {
      body: {metadata: {name: 'd'}},
    })
    expect(created.status).toBe(201)
    expect((await raw('DELETE', '/apis/crd.projectcalico.org/v1/felixconfigurations/default?dryRun=All')).status).toBe(
      200,
    )
    expect(server.store.resourceVersion()).toBe(rv)
    expect(
      server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default').spec.bpfEnabled,
    ).toBeUndefined()
    expect(server.store.get('v1', 'ConfigMap', 'd', 'default')).toBeUndefined()
  })

  it('reports every stored change to onWrite listeners', async () => {
    const seen: string[] = []
    const off = server.store.onWrite((e) => seen.push(`${e.type} ${e.rt.plural} ${e.obj.metadata.name}`))
    await kube.create(Resources.configMaps, {metadata: {name: 'l', namespace: 'default'}})
    await kube.patch(Resources.configMaps, 'l', 'default', {data: {a: 'b'}}, 'merge')
    await kube.patch(Resources.configMaps, 'l', 'default', {data: {a: 'b'}}, 'merge') // no-op: no event
    off()
    await kube.delete(Resources.configMaps, 'l', 'default')
    expect(seen).toEqual(['ADDED configmaps l', 'MODIFIED configmaps l'])
  })

  it('pauses controllers on request', async () => {
    seedKubeadmBase(server.store, {nodes: 2})
    server.store.pauseControllers()
    const pod = server.store.list('v1', 'Pod', 'kube-system').find((p) => p.metadata.labels['k8s-app'] === 'kube-proxy')
    await kube.delete(Resources.pods, pod.metadata.name, 'kube-system')
    expect(await kube.list(Resources.pods, 'kube-system', {labelSelector: 'k8s-app=kube-proxy'})).toHaveLength(1)
    server.store.resumeControllers()
    expect(await kube.list(Resources.pods, 'kube-system', {labelSelector: 'k8s-app=kube-proxy'})).toHaveLength(2)
  })
})
