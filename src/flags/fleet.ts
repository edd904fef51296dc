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
