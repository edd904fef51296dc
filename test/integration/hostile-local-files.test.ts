/**
 * `ebpfctl check --local` on a host whose kernel config is hostile: a 3 GB (sparse) file, a FIFO, /dev/zero, a gzip
 * bomb as /proc/config.gz. Each must end promptly with the reason, never hang or fill memory. EBPFCTL_HOST_ROOT points
 * the local checks at a prepared tree; the built CLI runs as a child process.
 */
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {execa} from 'execa'
import {describe, expect, it, vi} from 'vitest'

import {type HostileKernelConfig, hostileHostRoot} from '../support/hostile.js'

vi.setConfig({testTimeout: 60_000})

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'run.js')
// eslint-disable-next-line no-control-regex
const ACTIVE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/

const cases: [HostileKernelConfig, RegExp][] = [
  ['sparse-3g', /larger than 4 MiB; not read/],
  ['fifo', /is a FIFO, not a regular file/],
  ['dev-zero', /is a character device, not a regular file/],
  ['gzip-bomb', /config\.gz: unpacks to more than 4 MiB/],
]

describe('check --local with a hostile kernel config', () => {
  it.each(cases)('%s: refused with the reason, promptly, within 256 MiB', async (kind, reason) => {
    const host = hostileHostRoot(kind)
    try {
      const start = Date.now()
      const r = await execa('/usr/bin/time', ['-f', 'maxrss-kib=%M', 'node', BIN, 'check', '--local', '-o', 'wide'], {
        reject: false,
        cwd: ROOT,
        timeout: 30_000,
        env: {NO_COLOR: '1', EBPFCTL_HOST_ROOT: host, KUBECONFIG: ''},
      })
      expect(r.timedOut).toBe(false)
      expect(Date.now() - start).toBeLessThan(30_000)
      expect(r.stdout).toMatch(reason)
      expect(r.stdout).toMatch(/kernel config is unreadable/)
      // The escape codes in /proc/version and os-release are shown, not obeyed.
      expect(ACTIVE.test(r.stdout)).toBe(false)
      const rss = Number(/maxrss-kib=(\d+)/.exec(r.stderr)?.[1])
      expect(rss).toBeLessThan(256 * 1024)
    } finally {
      rmSync(host, {recursive: true, force: true})
    }
  })
})
