import {BPFFS_PATH, mountTypeAt} from '../facts.js'
import type {CheckContext, Finding, NewFinding} from '../types.js'
import {overNodeFacts} from '../util.js'

export function run(ctx: CheckContext, finding: NewFinding): Finding[] {
  return overNodeFacts(ctx, finding, (node, facts) => {
    const type = facts.mounts.length > 0 ? mountTypeAt(facts.mounts, BPFFS_PATH) : facts.bpffsMounted ? 'bpf' : undefined
    const data = {path: BPFFS_PATH, type: type ?? null, directoryExists: facts.bpffsDirExists, mountsSource: facts.mountsSource}
    const from = facts.mountsSource ? ` (${facts.mountsSource})` : ''
    if (type === 'bpf') return [finding('pass', `${BPFFS_PATH} is mounted, type bpf${from}`, {node, data})]
    if (!facts.bpffsDirExists) {
      return [
        finding('fail', `${BPFFS_PATH} does not exist`, {
          node,
          data,
          detail: "calico-node's bpffs volume is a hostPath of type Directory, so its pod cannot start on this node.",
          remedy: `Create the directory (mkdir -p ${BPFFS_PATH}) or boot a kernel with sysfs BPF support; then mount it: mount -t bpf bpffs ${BPFFS_PATH}.`,
        }),
      ]
    }
    const what = type ? `mounted as type ${type}, not bpf` : 'a directory, but no bpf filesystem is mounted there'
    return [
      finding('warn', `${BPFFS_PATH} is ${what}${from}`, {
        node,
        data,
        detail: "calico-node's ebpf-bootstrap (mount-bpffs) init container mounts it when BPF is enabled.",
        remedy: `To mount it yourself (and across reboots): mount -t bpf bpffs ${BPFFS_PATH}, or a sys-fs-bpf.mount systemd unit.`,
      }),
    ]
  })
}
