import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {userInfo} from 'node:os'
import {join} from 'node:path'

const root = join(import.meta.dirname, '..', '..')

/** The real kubectl of the e2e cache (built from k8s.io/kubernetes v1.35.4), or undefined when it is not built. */
export function realKubectl(): string | undefined {
  try {
    // vitest's HOME is empty; the cluster script's binary cache lives under the real one (as test/e2e/support does).
    const env = {...process.env, HOME: userInfo().homedir}
    const dirs = execFileSync(join(root, 'test/e2e/cluster'), ['bin'], {encoding: 'utf8', env}).trim().split(':')
    return dirs.map((d) => join(d, 'kubectl')).find((k) => existsSync(k))
  } catch {
    return undefined
  }
}
