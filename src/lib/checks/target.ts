import {existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

/**
 * Whether a kubeconfig is there to use (then `check` targets the cluster): --kubeconfig, else $KUBECONFIG (a ':'
 * list), else ~/.kube/config — kubectl's lookup, the same as src/lib/kube/config.ts hasKubeconfig (a test keeps them
 * in step). Here so the local `check` path never loads src/lib/kube.
 */
export function kubeconfigAvailable(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag) return true
  const files = env.KUBECONFIG ? env.KUBECONFIG.split(':').filter(Boolean) : [join(env.HOME ?? homedir(), '.kube', 'config')]
  return files.some((f) => existsSync(f))
}
