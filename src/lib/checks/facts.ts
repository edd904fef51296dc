import {existsSync, readdirSync, statSync} from 'node:fs'
import {endianness, hostname, machine, release, version} from 'node:os'

import {type BoundedReadError, hostPath, readBoundedGzip, readBoundedText} from '../bounded-file.js'
import type {NodeFacts} from './types.js'

/**
 * Node facts: pure parsers of the files the node checks need (shared by the local reader below and by remote probes
 * over SSH / pod exec), and the reader of THIS machine (node:fs only, no subprocess: start-up time matters).
 */

export const BPFFS_PATH = '/sys/fs/bpf'
export const BTF_PATH = '/sys/kernel/btf/vmlinux'
/** Where Calico pins its maps (calico-bpf.md §2.1). */
export const CALICO_PIN_DIR = '/sys/fs/bpf/tc/globals'

export type Mount = NodeFacts['mounts'][number]

/** /proc/<pid>/mounts: "device mountpoint type options dump pass", with \040-style octal escapes. */
export function parseMounts(text: string): Mount[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))
  const mounts: Mount[] = []
  for (const line of text.split('\n')) {
    const [device, mountpoint, type] = line.trim().split(/\s+/)
    if (!device || !mountpoint || !type) continue
    mounts.push({device: unescape(device), mountpoint: unescape(mountpoint), type})
  }
  return mounts
}

/** The filesystem type mounted at a path (the last mount on it wins, as with stacked mounts), or undefined. */
export function mountTypeAt(mounts: Mount[], path: string): string | undefined {
  let type: string | undefined
  for (const m of mounts) if (m.mountpoint === path) type = m.type
  return type
}

/** Kernel config text: `CONFIG_X=y|m|"str"|123`, and `# CONFIG_X is not set` recorded as 'n'. */
export function parseKernelConfig(text: string): Record<string, string> {
  const config: Record<string, string> = {}
  for (const line of text.split('\n')) {
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
export function parseFilesystems(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).pop() ?? '')
    .filter(Boolean)
}

/** PRETTY_NAME from /etc/os-release. */
export function parseOsRelease(text: string): string | undefined {
  const m = text.match(/^PRETTY_NAME=(.*)$/m)
  return m ? m[1]!.trim().replace(/^["'](.*)["']$/, '$1') : undefined
}

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
  let kernelConfig: Record<string, string> | undefined
  let kernelConfigSource: string | undefined
  if (existsSync(hostPath('/proc/config.gz'))) {
    try {
      kernelConfig = parseKernelConfig(await readBoundedGzip(hostPath('/proc/config.gz')))
      kernelConfigSource = '/proc/config.gz'
    } catch (err) {
      errors.push((err as Error).message)
    }
  }
  if (!kernelConfig) {
    for (const path of [`/boot/config-${rel}`, `/lib/modules/${rel}/config`, `/usr/lib/modules/${rel}/config`]) {
      const text = tryRead(path, errors, true)
      if (text !== undefined) {
        kernelConfig = parseKernelConfig(text)
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
