/**
 * Reads of local files whose content we do not control (the kernel config, /proc, /etc/os-release): bounded in bytes,
 * never blocking, regular files only. A FIFO at /boot/config-<release> would hang a plain read forever, /dev/zero
 * would fill memory, a 3 GB file or a gzip bomb would too; each is refused with a reason instead.
 */
import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs'
import {join} from 'node:path'

import {formatBytes} from './nodes/bounds.js'

/** The most a local text file may hold (a kernel config is ~250 KiB; /proc/1/mounts on a busy host a few hundred). */
export const LOCAL_FILE_LIMIT = 4 * 1024 * 1024

export class BoundedReadError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'BoundedReadError'
  }
}

/**
 * Where this machine's files are: `EBPFCTL_HOST_ROOT` (so tests can point the local checks at a prepared tree, and a
 * container can read a host mounted at /host), else /.
 */
export function hostPath(path: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = env.EBPFCTL_HOST_ROOT
  return root ? join(root, path) : path
}

/** The file's bytes, at most maxBytes; refuses anything that is not a regular file, or is larger. */
export function readBoundedFile(path: string, maxBytes = LOCAL_FILE_LIMIT): Buffer {
  let fd: number
  try {
    // O_NONBLOCK: opening a FIFO with no writer would otherwise block this thread for good.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    throw new BoundedReadError(path, code, `${path}: ${code}`)
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) {
      const kind = st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : 'not a regular file'
      throw new BoundedReadError(path, 'ENOTREG', `${path}: is ${kind}, not a regular file; not read`)
    }
    // /proc files report size 0 and are read to EOF; the cap applies either way.
    const tooBig = () => new BoundedReadError(path, 'EFBIG', `${path}: larger than ${formatBytes(maxBytes)}; not read`)
    if (st.size > maxBytes) throw tooBig()
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total))
      let n: number
      try {
        n = readSync(fd, buf, 0, buf.length, null)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
        throw new BoundedReadError(path, code, `${path}: ${code}`)
      }
      if (n === 0) break
      total += n
      if (total > maxBytes) throw tooBig()
      chunks.push(buf.subarray(0, n))
    }
    return Buffer.concat(chunks, total)
  } finally {
    closeSync(fd)
  }
}

export function readBoundedText(path: string, maxBytes = LOCAL_FILE_LIMIT): string {
  return readBoundedFile(path, maxBytes).toString('utf8')
}

/** A gzip file (like /proc/config.gz), bounded both compressed and uncompressed (a gzip bomb stops at maxBytes). */
export async function readBoundedGzip(path: string, maxBytes = LOCAL_FILE_LIMIT): Promise<string> {
  const {gunzipSync} = await import('node:zlib')
  const packed = readBoundedFile(path, maxBytes)
  try {
    return gunzipSync(packed, {maxOutputLength: maxBytes}).toString('utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
      throw new BoundedReadError(path, 'EFBIG', `${path}: unpacks to more than ${formatBytes(maxBytes)}; not read`)
    throw new BoundedReadError(path, e.code ?? 'EIO', `${path}: ${e.message}`)
  }
}
