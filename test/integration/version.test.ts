/** `ebpfctl version` and `-v`: the client, and with a cluster the Kubernetes, Calico and operator versions. */
import {afterEach, describe, expect, it} from 'vitest'
import {parse} from 'yaml'

import {cli} from '../support/cli.js'
import {type TestCluster, startCluster} from '../support/operator-sim.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

describe('ebpfctl version', {timeout: 60_000}, () => {
  it('-v is --version (the short-circuit and oclif agree)', async () => {
    const long = await cli(['--version'])
    const short = await cli(['-v'])
    expect(long.code).toBe(0)
    expect(short).toMatchObject({code: 0, stdout: long.stdout})
    expect(long.stdout).toMatch(/^ebpfctl\/\d+\.\d+\.\d+ \S+ node-v\d+/)
  })

  it('without a kubeconfig: the client only, as text and JSON', async () => {
    const text = await cli(['version'])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^Client: +ebpfctl \d+\.\d+\.\d+ \(/)
    expect(text.stdout).not.toContain('Kubernetes')
    // The one -o flag: wide is accepted everywhere data is printed (here the same lines as table).
    expect(await cli(['version', '-o', 'wide'])).toMatchObject({code: 0, stdout: text.stdout, stderr: ''})
    const json = JSON.parse((await cli(['version', '-o', 'json'])).stdout)
    expect(json).toMatchObject({apiVersion: 'ebpfctl/v1', kind: 'Version', client: {version: expect.any(String)}})
    expect(json.cluster).toBeUndefined()
  })

  it('with a cluster: Kubernetes, Calico (ClusterInformation) and operator versions; --client skips the cluster', async () => {
    cluster = await startCluster('operator')
    const text = await cli(['version', '--kubeconfig', cluster.kubeconfig])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/Kubernetes: v1\.33\.1\n/)
    expect(text.stdout).toMatch(/Calico: +v3\.32\.1 \(ClusterInformation\)\n/)
    expect(text.stdout).toMatch(/Operator: +v1\.42\.3\n/)
    const yaml = parse((await cli(['version', '--kubeconfig', cluster.kubeconfig, '-o', 'yaml'])).stdout)
    expect(yaml.cluster).toMatchObject({kubernetes: 'v1.33.1', calico: 'v3.32.1', operator: 'v1.42.3'})
    cluster.server.resetLog()
    const client = await cli(['version', '--client', '--kubeconfig', cluster.kubeconfig])
    expect(client.stdout).not.toContain('Kubernetes')
    expect(cluster.server.log).toEqual([])
  })

  it('a cluster that cannot be reached: the client line, then one error line, exit 2', async () => {
    const {mkdtempSync, writeFileSync} = await import('node:fs')
    const {join} = await import('node:path')
    const {tmpdir} = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-version-'))
    const kubeconfig = join(dir, 'kubeconfig')
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\n' +
        'users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    )
    const r = await cli(['version', '--kubeconfig', kubeconfig, '--request-timeout', '2s'])
    expect(r.code).toBe(2)
    expect(r.stdout).toMatch(/^Client: /)
    expect(r.stderr).toMatch(/^Error: .*127\.0\.0\.1:1/m)
  })
})
