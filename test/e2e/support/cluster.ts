/**
 * The real control plane for e2e tests (test/e2e/cluster): kube-apiserver, kube-controller-manager, kube-scheduler,
 * etcd and kwok built from their Go modules, on 127.0.0.1 with generated certificates and kubeconfigs.
 *
 * EBPFCTL_E2E=0 skips the suite (CI sets it, with EBPFCTL_E2E_SKIP_REASON, when the Go build could not run). Otherwise
 * missing binaries are a loud failure, not a silent skip.
 */
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join, resolve} from 'node:path'

import {execFileSync} from 'node:child_process'

import {execa} from 'execa'

export const ROOT = resolve(import.meta.dirname, '../../..')
export const CLUSTER_SCRIPT = join(ROOT, 'test/e2e/cluster')
export const BIN = join(ROOT, 'bin/run.js')
// vitest gives tests an empty HOME; the cluster script (not ebpfctl) needs the real one for the binary cache and Go's
// module cache.
const SCRIPT_ENV = {HOME: userInfo().homedir}

/** Why the e2e suite is skipped, or undefined when it runs. */
export function e2eSkipReason(): string | undefined {
  if (process.env.EBPFCTL_E2E !== '0') return undefined
  return process.env.EBPFCTL_E2E_SKIP_REASON || 'EBPFCTL_E2E=0'
}

/** The tigera-operator releases the e2e cluster can run (test/e2e/operator-<release>). */
export const OPERATOR_RELEASES = ['v1.42', 'v1.43'] as const
export type OperatorRelease = (typeof OPERATOR_RELEASES)[number]

/**
 * Why the operator tests of a release are skipped (the whole e2e suite is, or its binary is not built: the build
 * recorded why, e.g. a module the Go module proxy refuses), or undefined when they run. Synchronous: vitest decides
 * what to skip while collecting.
 */
export function operatorSkipReason(release: OperatorRelease): string | undefined {
  const suite = e2eSkipReason()
  if (suite) return suite
  if (process.env.EBPFCTL_E2E_OPERATOR === '0') return 'EBPFCTL_E2E_OPERATOR=0'
  try {
    execFileSync(CLUSTER_SCRIPT, ['operator-bin', release], {env: {...process.env, ...SCRIPT_ENV}, stdio: 'pipe'})
    return undefined
  } catch (error) {
    const stderr = String((error as {stderr?: Buffer}).stderr ?? '').trim()
    const why = stderr.replace(/^cluster: /, '') || `tigera-operator ${release} not built`
    // .ci/run says why it did not build it (e.g. out of time); the script's own record says why a build failed.
    const ci = process.env.EBPFCTL_E2E_OPERATOR_SKIP_REASON
    return ci && /not built \(run/.test(why) ? `${why}: ${ci}` : why
  }
}

export interface E2ECluster {
  dir: string
  kubeconfig: string
  restrictedKubeconfig: string
  server: string
  kubectl(args: string[], opts?: {input?: string; reject?: boolean}): Promise<{code: number; stdout: string; stderr: string}>
  kubectlJson<T = any>(args: string[]): Promise<T>
  down(): Promise<void>
}

/** A component of the cluster in DIR could not bind its port ("address already in use" in its log). */
function portTaken(dir: string): boolean {
  try {
    return readdirSync(join(dir, 'logs')).some((f) => /address already in use/i.test(readFileSync(join(dir, 'logs', f), 'utf8')))
  } catch {
    return false
  }
}

/**
 * Starts a cluster in a fresh temp directory (`cluster up`; with `operator`, an operator install of that release
 * instead of calico.yaml; with `egressSelector`, kube-apiserver's EgressSelectorConfiguration file); `down()` stops it
 * and removes the directory.
 */
export async function startE2ECluster(
  env: Record<string, string> = {},
  opts: {operator?: OperatorRelease; egressSelector?: string} = {},
): Promise<E2ECluster> {
  const bin = await execa(CLUSTER_SCRIPT, ['bin'], {reject: false, env: SCRIPT_ENV})
  if (bin.exitCode !== 0)
    throw new Error(
      'the e2e control plane is not built: run `test/e2e/cluster build` (Go, ~30 min cold at nice 19), ' +
        'or set EBPFCTL_E2E=0 to skip the e2e suite',
    )
  // `up` picks free ports and its components bind them moments later: another test file running at the same time can
  // take one in between. That start is retried in a fresh directory; any other failure is reported at once.
  let dir = ''
  for (let attempt = 1; ; attempt++) {
    dir = mkdtempSync(join(tmpdir(), 'ebpfctl-e2e-'))
    const args = ['up', dir, ...(opts.operator ? ['--operator', opts.operator] : []), ...(opts.egressSelector ? ['--egress-selector', opts.egressSelector] : [])]
    const up = await execa(CLUSTER_SCRIPT, args, {reject: false, env: {...SCRIPT_ENV, ...env}, timeout: 300_000})
    if (up.exitCode === 0) break
    await execa(CLUSTER_SCRIPT, ['down', dir], {reject: false, env: SCRIPT_ENV})
    if (attempt < 3 && portTaken(dir)) {
      rmSync(dir, {recursive: true, force: true})
      continue
    }
    throw new Error(`cluster up failed (${up.exitCode}):\n${up.stderr}\nlogs in ${dir}/logs`)
  }
  const kubeconfig = join(dir, 'kubeconfig')
  const kubectl: E2ECluster['kubectl'] = async (args, opts = {}) => {
    const r = await execa(CLUSTER_SCRIPT, ['kubectl', dir, ...args], {
      reject: false,
      env: SCRIPT_ENV,
      input: opts.input,
      timeout: 120_000,
    })
    if (opts.reject !== false && r.exitCode !== 0)
      throw new Error(`kubectl ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`)
    return {code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
  }
  return {
    dir,
    kubeconfig,
    restrictedKubeconfig: join(dir, 'kubeconfig-restricted'),
    server: readFileSync(join(dir, 'server'), 'utf8').trim(),
    kubectl,
    kubectlJson: async (args) => JSON.parse((await kubectl([...args, '-o', 'json'])).stdout),
    async down() {
      const r = await execa(CLUSTER_SCRIPT, ['down', dir], {reject: false, env: SCRIPT_ENV})
      if (r.exitCode !== 0) throw new Error(`cluster down failed: ${r.stderr}`)
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** Runs the built CLI with a kubeconfig that is the cluster's own (never the ambient one). */
export async function ebpfctl(
  args: string[],
  kubeconfig: string,
  timeoutMs = 180_000,
): Promise<{code: number; stdout: string; stderr: string}> {
  const r = await execa(process.execPath, [BIN, ...args, '--kubeconfig', kubeconfig], {
    reject: false,
    cwd: ROOT,
    env: {NO_COLOR: '1', KUBECONFIG: '/nonexistent/ebpfctl-e2e-kubeconfig'},
    timeout: timeoutMs,
  })
  return {code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
}
