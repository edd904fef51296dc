import type {CheckContext, Finding, NewFinding} from '../types.js'
import {overNodeFacts} from '../util.js'

/** The eBPF options (Cilium's list, which Calico's programs need too; Felix itself checks none of them). */
export const REQUIRED_KERNEL_CONFIG = [
  'CONFIG_BPF',
  'CONFIG_BPF_SYSCALL',
  'CONFIG_BPF_JIT',
  'CONFIG_NET_CLS_BPF',
  'CONFIG_NET_SCH_INGRESS',
  'CONFIG_CGROUP_BPF',
] as const

export function run(ctx: CheckContext, finding: NewFinding): Finding[] {
  return overNodeFacts(ctx, finding, (node, facts) => {
    const config = facts.kernelConfig
    if (!config) {
      return [
        finding('warn', 'kernel config is unreadable (no /proc/config.gz or /boot/config-<release>)', {
          node,
          // Why a file that is there was not read (a FIFO, a device, too large, a gzip bomb).
          detail: facts.errors.filter((e) => /config/.test(e)).join('; ') || undefined,
          remedy:
            'Load the configs module (modprobe configs) or install the kernel config file to verify the eBPF ' +
            'options.',
        }),
      ]
    }
    const values = Object.fromEntries(REQUIRED_KERNEL_CONFIG.map((k) => [k, config[k] ?? null]))
    const disabled = REQUIRED_KERNEL_CONFIG.filter((k) => config[k] === 'n')
    const absent = REQUIRED_KERNEL_CONFIG.filter((k) => config[k] === undefined)
    const data = {source: facts.kernelConfigSource, options: values}
    const from = facts.kernelConfigSource ? ` (${facts.kernelConfigSource})` : ''
    if (disabled.length > 0) {
      return [
        finding('fail', `${disabled.join(', ')} ${disabled.length === 1 ? 'is' : 'are'} not set${from}`, {
          node,
          data,
          detail:
            'Calico loads tc (clsact) BPF programs and cgroup BPF programs; without these options they cannot ' +
            'load.',
          remedy: 'Use a kernel built with these options (every mainstream distribution kernel >= 5.10 has them).',
        }),
      ]
    }
    if (absent.length > 0) {
      return [
        finding('warn', `${absent.join(', ')} not present in the kernel config${from}`, {node, data}),
      ]
    }
    const modules = REQUIRED_KERNEL_CONFIG.filter((k) => config[k] === 'm')
    return [
      finding(
                'pass',
        `all ${REQUIRED_KERNEL_CONFIG.length} eBPF options are enabled${modules.length ? ` (${modules.join(', ')} as modules)` : ''}${from}`,
        {node, data},
      ),
    ]
  })
}
