import {execFileSync} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, writeFileSync, ftruncateSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {describe, expect, it} from 'vitest'

import {hostPath, readBoundedFile, readBoundedGzip, readBoundedText} from '../../src/lib/bounded-file.js'
import {formatBytes, parseByteSize} from '../../src/lib/nodes/bounds.js'

const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-bounded-'))

describe('readBoundedFile', () => {
  it('reads a regular file and /proc files (size 0 in stat)', () => {
    writeFileSync(join(dir, 'config'), 'CONFIG_BPF=y\n')
    expect(readBoundedText(join(dir, 'config'))).toBe('CONFIG_BPF=y\n')
    expect(readBoundedText('/proc/self/status')).toMatch(/^Name:/)
  })

  it('refuses a FIFO at once instead of blocking', () => {
    const fifo = join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    const start = Date.now()
    expect(() => readBoundedFile(fifo)).toThrow(/is a FIFO, not a regular file/)
    expect(Date.now() - start).toBeLessThan(1000)
  })

  it('refuses /dev/zero (a character device) and a directory', () => {
    expect(() => readBoundedFile('/dev/zero')).toThrow(/is a character device/)
    expect(() => readBoundedFile(dir)).toThrow(/is a directory/)
  })

  it('refuses a file larger than the limit without reading it (3 GB sparse)', () => {
    const big = join(dir, 'big')
    const fd = openSync(big, 'w')
    ftruncateSync(fd, 3 * 1024 ** 3)
    closeSync(fd)
    expect(() => readBoundedFile(big)).toThrow(/larger than 4 MiB/)
    expect(() => readBoundedFile(join(dir, 'config'), 4)).toThrow(/larger than 4 bytes/)
  })

  it('stops a gzip bomb at the limit', async () => {
    const bomb = join(dir, 'config.gz')
    writeFileSync(bomb, gzipSync(Buffer.alloc(64 * 1024 * 1024)))
    await expect(readBoundedGzip(bomb)).rejects.toThrow(/unpacks to more than 4 MiB/)
    writeFileSync(bomb, gzipSync('CONFIG_BPF=y\n'))
    await expect(readBoundedGzip(bomb)).resolves.toBe('CONFIG_BPF=y\n')
  })

  it('hostPath roots local paths at EBPFCTL_HOST_ROOT', () => {
    expect(hostPath('/proc/version', {})).toBe('/proc/version')
    expect(hostPath('/proc/version', {EBPFCTL_HOST_ROOT: '/host'})).toBe('/host/proc/version')
  })
})

describe('byte sizes', () => {
  it('parses --max-output-bytes values and prints them back', () => {
    expect(parseByteSize('1Gi')).toBe(1024 ** 3)
    expect(parseByteSize('64Mi')).toBe(64 * 1024 ** 2)
    expect(parseByteSize('512K')).toBe(512 * 1024)
    expect(parseByteSize('1000')).toBe(1000)
    expect(() => parseByteSize('lots')).toThrow(/expects a size like 64Mi/)
    expect(() => parseByteSize('0')).toThrow(/at least 1 byte/)
    expect(formatBytes(32 * 1024 ** 2)).toBe('32 MiB')
    expect(formatBytes(1000)).toBe('1000 bytes')
  })
})
