/** Runs the built CLI under /usr/bin/time -v: exit code, output and the child's peak RSS (MiB). */
import {execFile} from 'node:child_process'

export interface CliRun {
  code: number
  stdout: string
  stderr: string
  peakRssMiB: number
  ms: number
}

export function runCliMeasured(args: string[], opts: {cwd?: string; timeoutMs?: number} = {}): Promise<CliRun> {
  const t0 = Date.now()
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/time',
      ['-v', process.execPath, 'bin/run.js', ...args],
      {cwd: opts.cwd, env: {...process.env, NO_COLOR: '1'}, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024},
      (err, stdout, stderr) => {
        const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? NaN)
        const code = Number(/Exit status: (\d+)/.exec(stderr)?.[1] ?? (err ? -1 : 0))
        resolve({
          code,
          stdout,
          stderr: stderr.replace(/\n\tCommand being timed:[\s\S]*$/, ''),
          peakRssMiB: Math.round(kb / 1024),
          ms: Date.now() - t0,
        })
      },
    )
  })
}
