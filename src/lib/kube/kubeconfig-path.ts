import {existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

/**
 * kubectl's kubeconfig lookup: --kubeconfig, else $KUBECONFIG (a ':' list), else ~/.kube/config. Kept free of heavy
 * imports: `check` calls it on every start to decide between the local node and a cluster.
 */
export function kubeconfigFiles(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (flag) return [flag]
  if (env.KUBECONFIG) return env.KUBECONFIG.split(':').filter(Boolean)
  return [join(env.HOME ?? homedir(), '.kube', 'config')]
}

/**
 * True when the user asked for a cluster: --kubeconfig or KUBECONFIG names a file (whether or not it exists: a missing
 * one is an error from connect(), never a silent fall back to the local node — that would be a false pass in CI), or
 * ~/.kube/config exists. Without one, `check` runs against the local node.
 */
export function hasKubeconfig(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag) return true
  if (env.KUBECONFIG && env.KUBECONFIG.split(':').some(Boolean)) return true
  return kubeconfigFiles(flag, env).some((f) => existsSync(f))
}

/** The one rule every command uses for "is there a cluster": --context names one, or hasKubeconfig(). */
export function clusterRequested(opts: {kubeconfig?: string; context?: string}, env: NodeJS.ProcessEnv = process.env): boolean {
  return opts.context !== undefined || hasKubeconfig(opts.kubeconfig, env)
}
