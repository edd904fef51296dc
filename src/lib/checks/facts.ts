import {existsSync, readdirSync, statSync} from 'node:fs'
import {endianness, hostname, machine, release, version} from 'node:os'

import {type BoundedReadError, hostPath, readBoundedGzip, readBoundedText} from '../bounded-file.js'
import {
  type NodeFacts,
  ebpfKernelConfigLines,
  mountTypeAt,
  parseFilesystems,
  parseKernelConfig,
  parseMounts,
  parseOsRelease,
} from '../nodes/facts.js'

/**
 * The reader of THIS machine's node facts (node:fs only, no subprocess: start-up time matters); the parsers it shares
 * with the remote probe are in ../nodes/facts.ts.
 */

export const BPFFS_PATH = '/sys/fs/bpf'
export const BTF_PATH = '/sys/kernel/btf/vmlinux'
/** Where Calico pins its maps (calico-bpf.md §2.1). */
export const CALICO_PIN_DIR = '/sys/fs/bpf/tc/globals'

/** A bounded read of a local file (bounded-file.ts); `quiet` leaves out only "it is not there". */
const tryRead = (path: string, errors: string[], quiet = false): string | undefined => {
  try {
    return readBoundedText(hostPath(path))
  } catch (err) {
    const e = err as BoundedReadError
    if (!quiet || e.code !== 'ENOENT') errors.push(e.message)
    return undefined
  }
}

/** The local machine's name, the key of its facts. */
export function localNodeName(): string {
  return hostname()
}

/**
 * Reads this machine's facts with node:fs. Mounts come from /proc/1/mounts (the host's mount namespace when we are
 * on the host) and fall back to /proc/self/mounts when PID 1 is not readable.
 */
export async function readLocalFacts(): Promise<NodeFacts> {
  const errors: string[] = []
  const procVersion = tryRead('/proc/version', errors)?.trim()
  const rel = release()
  let mountsSource = '/proc/1/mounts'
  let mountsText = tryRead(mountsSource, errors, true)
  if (mountsText === undefined || mountsText.trim() === '') {
    mountsSource = '/proc/self/mounts'
    mountsText = tryRead(mountsSource, errors)
  }
  const mounts = parseMounts(mountsText ?? '')
  let bpffsDirExists = false
  try {
    bpffsDirExists = statSync(hostPath(BPFFS_PATH)).isDirectory()
  } catch {
    bpffsDirExists = false
  }
  let kernelConfig: NodeFacts['kernelConfig']
  let kernelConfigSource: string | undefined
  if (existsSync(hostPath('/proc/config.gz'))) {
    try {
      kernelConfig = parseKernelConfig(ebpfKernelConfigLines(await readBoundedGzip(hostPath('/proc/config.gz'))))
      kernelConfigSource = '/proc/config.gz'
    } catch (err) {
      errors.push((err as Error).message)
    }
  }
  if (!kernelConfig) {
    for (const path of [`/boot/config-${rel}`, `/lib/modules/${rel}/config`, `/usr/lib/modules/${rel}/config`]) {
      const text = tryRead(path, errors, true)
      if (text !== undefined) {
        kernelConfig = parseKernelConfig(ebpfKernelConfigLines(text))
        kernelConfigSource = path
        break
      }
    }
  }
  let calicoMaps: string[] = []
  try {
    calicoMaps = readdirSync(hostPath(CALICO_PIN_DIR)).filter((n) => n.startsWith('cali_')).sort()
  } catch {
    calicoMaps = []
  }
  const fsText = tryRead('/proc/filesystems', errors, true)
  const osText = tryRead('/etc/os-release', errors, true)
  return {
    procVersion,
    unameRv: `${rel} ${version()}`,
    machine: machine(),
    endianness: endianness(),
    mounts,
    mountsSource,
    bpffsDirExists,
    bpffsMounted: mountTypeAt(mounts, BPFFS_PATH) === 'bpf',
    cgroup2Mount: mounts.find((m) => m.type === 'cgroup2')?.mountpoint,
    btfVmlinux: existsSync(hostPath(BTF_PATH)),
    kernelConfig,
    kernelConfigSource,
    calicoMaps,
    filesystems: fsText === undefined ? undefined : parseFilesystems(fsText),
    osImage: osText === undefined ? undefined : parseOsRelease(osText),
    via: 'local',
    errors,
  }
}

export {mountTypeAt, parseKernelConfig, parseMounts} from '../nodes/facts.js'
