/** Runs the built CLI (`node bin/run.js`, needs `npm run build`) as a child process, for exit codes and streams. */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

const run = promisify(execFile)

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** Wall time of the run. */
  ms: number
}

export async function cli(args: string[], opts: {timeoutMs?: number} = {}): Promise<CliResult> {
  const t0 = Date.now()
  try {
    const {stdout, stderr} = await run(process.execPath, ['bin/run.js', ...args], {
      env: {...process.env, NO_COLOR: '1'},
      timeout: opts.timeoutMs ?? 60_000,
    })
    return {code: 0, stdout, stderr, ms: Date.now() - t0}
  } catch (err) {
    const e = err as {code?: number; stdout?: string; stderr?: string}
    const code = typeof e.code === 'number' ? e.code : -1
    return {code, stdout: e.stdout ?? '', stderr: e.stderr ?? '', ms: Date.now() - t0}
  }
}
