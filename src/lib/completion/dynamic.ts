/**
 * Completion values from outside the CLI's own metadata: check IDs, kubeconfig contexts, and node names from the
 * cluster. The cluster is asked only while completing a node flag, with one first-page list and a short deadline, so
 * a TAB never hangs; any failure is no candidates.
 */
import type {DynamicValues} from './engine.js'

/** The whole time a TAB may wait for the cluster: 2 s, or EBPFCTL_COMPLETION_TIMEOUT (e.g. 5s) for a slow one. */
function clusterDeadlineMs(): number {
  const text = process.env.EBPFCTL_COMPLETION_TIMEOUT
  const m = text?.match(/^(\d+(?:\.\d+)?)(ms|s)?$/)
  if (!m) return 2000
  return Math.min(60_000, Number(m[1]) * (m[2] === 'ms' ? 1 : 1000))
}

function withDeadline<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms)
  })
  return Promise.race([p.catch(() => fallback), late]).finally(() => clearTimeout(timer))
}

export function clusterValues(): DynamicValues {
  return {
    async checkIds() {
      const {CHECK_IDS} = await import('../checks/index.js')
      return CHECK_IDS
    },
    async nodeNames({kubeconfig, context}) {
      const {clusterRequested} = await import('../kube/kubeconfig-path.js')
      if (!clusterRequested({kubeconfig, context})) return []
      const deadlineMs = clusterDeadlineMs()
      let close = () => {}
      try {
        return await withDeadline(
          (async () => {
            const [{connect}, {Resources}] = await Promise.all([import('../kube/connect.js'), import('../kube/resources.js')])
            const kube = await connect({kubeconfig, context, timeoutMs: deadlineMs})
            close = () => kube.close()
            const nodes = await kube.list(Resources.nodes, undefined, {pageSize: 500, firstPageOnly: true})
            return nodes.map((n) => n.metadata.name).filter((n): n is string => typeof n === 'string')
          })(),
          deadlineMs,
          [] as string[],
        )
      } finally {
        close()
      }
    },
    async contexts({kubeconfig}) {
      const [{kubeconfigFiles}, {kubeconfigContexts}] = await Promise.all([
        import('../kube/kubeconfig-path.js'),
        import('../kube/kubeconfig.js'),
      ])
      return kubeconfigContexts(kubeconfigFiles(kubeconfig).filter(Boolean))
    },
  }
}
