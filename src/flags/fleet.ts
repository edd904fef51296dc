import {dumpFlags} from './dump.js'

/** Flags of the fleet views (conntrack stats, dataplane counters, nat aff/maglev): the dumps' flags without filters. */
export const fleetFlags = {
  node: dumpFlags.node,
  'all-nodes': dumpFlags['all-nodes'],
  source: dumpFlags.source,
  'agent-cmd': dumpFlags['agent-cmd'],
  'agent-crictl': dumpFlags['agent-crictl'],
  'max-output-bytes': dumpFlags['max-output-bytes'],
  output: dumpFlags.output,
}

/** `--service NAMESPACE/NAME`, or a usage error naming the expected form. */
export async function parseServiceFlag(value: string | undefined): Promise<{namespace: string; name: string} | undefined> {
  if (!value) return undefined
  const m = value.match(/^([^/\s]+)\/([^/\s]+)$/)
  if (!m) {
    const {UserError} = await import('../lib/errors.js')
    throw new UserError(`--service=${value} is not NAMESPACE/NAME`, {remedy: 'For example: --service default/kubernetes'})
  }
  return {namespace: m[1]!, name: m[2]!}
}
