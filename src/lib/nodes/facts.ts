import type {NodeDataplane} from '../felix-log.js'
import type {TransportKind} from './types.js'

/**
 * What the node checks judge about a node, and the pure parsers of the files they come from: one home for the node
 * probe (probe.ts, over any runner) and for the reader of this machine (checks/facts.ts). No imports at run time:
 * the local check loads this on every start.
 */

export interface MountEntry {
  device: string
  mountpoint: string
  type: string
  options?: string
}

export type KernelConfigValue = 'y' | 'm' | 'n' | (string & {})

export interface NodeFacts {
  /** Contents of /proc/version (trimmed). */
  procVersion?: string
  /** `uname -rv` (release and version). */
  unameRv?: string
  /** `uname -m`, e.g. x86_64, aarch64. */
  machine?: string
  /** The mount table of the host mount namespace (/proc/1/mounts, else /proc/self/mounts). */
  mounts: MountEntry[]
  /** Which file the mount table came from. */
  mountsSource?: string
  /** /sys/fs/bpf exists and is a directory. */
  bpffsDirExists: boolean
  /** A filesystem of type bpf is mounted at /sys/fs/bpf. */
  bpffsMounted: boolean
  /** Mountpoint of the (first) cgroup2 filesystem. */
  cgroup2Mount?: string
  /** /sys/kernel/btf/vmlinux exists (kernel BTF, needed for CO-RE programs). */
  btfVmlinux: boolean
  /**
   * CONFIG_BPF*, CONFIG_NET_CLS_BPF, CONFIG_NET_SCH_INGRESS, CONFIG_CGROUP_BPF; `# … is not set` → 'n'.
   * undefined = unreadable.
   */
  kernelConfig?: Record<string, KernelConfigValue>
  /** '/proc/config.gz' or '/boot/config-<release>'. */
  kernelConfigSource?: string
  /** Filesystem types the kernel supports (/proc/filesystems), e.g. to tell "no cgroup2 support" from "not mounted". */
  filesystems?: string[]
  /** Names pinned under /sys/fs/bpf/tc/globals (sorted). */
  calicoMaps: string[]
  /** /sys/fs/bpf/tc/globals exists (the probe says; the local reader does not). */
  calicoMapsDirExists?: boolean
  /** What could not be read, one line each. */
  errors: string[]
  /** What Felix's log on this node says (cluster mode with --nodes, when BPF is enabled). */
  felixDataplane?: NodeDataplane
  /** Byte order of the node: 'LE' | 'BE' (os.endianness() locally); derived from `machine` when absent. */
  endianness?: 'LE' | 'BE'
  /** OS image / PRETTY_NAME, a distro hint when /proc/version is missing. */
  osImage?: string
  /** How the facts were fetched. */
  via?: TransportKind
}

const linesOf = (text: string | string[]) => (typeof text === 'string' ? text.split('\n') : text)

/** /proc/<pid>/mounts: "device mountpoint type options dump pass", with \040-style octal escapes. */
export function parseMounts(text: string | string[]): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))
  const mounts: MountEntry[] = []
  for (const line of linesOf(text)) {
    const [device, mountpoint, type, options] = line.trim().split(/\s+/)
    if (!device || !mountpoint || !type) continue
    mounts.push({device: unescape(device), mountpoint: unescape(mountpoint), type, options})
  }
  return mounts
}

/** The filesystem type mounted at a path (the last mount on it wins, as with stacked mounts), or undefined. */
export function mountTypeAt(mounts: MountEntry[], path: string): string | undefined {
  let type: string | undefined
  for (const m of mounts) if (m.mountpoint === path) type = m.type
  return type
}

/**
 * The kernel-config lines the eBPF checks read, as an extended regular expression that JavaScript reads the same way:
 * the node probe greps a node's config with it, and the local reader keeps only these lines of its own.
 */
export const EBPF_KERNEL_CONFIG_LINE = '^(# )?CONFIG_(BPF[A-Z0-9_]*|NET_CLS_BPF|NET_SCH_INGRESS|CGROUP_BPF)[= ]'

/**
 * The eBPF lines of a whole kernel config. A distribution's config has ~10,000 lines; one search over the text instead
 * of two regular expressions per line took ~35 M instructions off every local `check` (~0.07x `node -e 0`).
 */
export function ebpfKernelConfigLines(text: string): string[] {
  return text.match(new RegExp(`${EBPF_KERNEL_CONFIG_LINE}.*$`, 'gm')) ?? []
}

/** Kernel config text: `CONFIG_X=y|m|"str"|123`, and `# CONFIG_X is not set` recorded as 'n'. */
export function parseKernelConfig(text: string | string[]): Record<string, KernelConfigValue> {
  const config: Record<string, KernelConfigValue> = {}
  for (const line of linesOf(text)) {
    const set = line.match(/^(CONFIG_[A-Za-z0-9_]+)=(.*)$/)
    if (set) {
      config[set[1]!] = set[2]!.trim().replace(/^"(.*)"$/, '$1')
      continue
    }
    const unset = line.match(/^# (CONFIG_[A-Za-z0-9_]+) is not set/)
    if (unset) config[unset[1]!] = 'n'
  }
  return config
}

/** /proc/filesystems: "nodev\tcgroup2" / "\text4" → names. */
export function parseFilesystems(text: string | string[]): string[] {
  return linesOf(text)
    .map((l) => l.trim().split(/\s+/).pop() ?? '')
    .filter(Boolean)
}

/** PRETTY_NAME from /etc/os-release. */
export function parseOsRelease(text: string): string | undefined {
  const m = text.match(/^PRETTY_NAME=(.*)$/m)
  return m ? m[1]!.trim().replace(/^["'](.*)["']$/, '$1') : undefined
}
