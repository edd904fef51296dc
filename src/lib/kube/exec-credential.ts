import {isAbsolute, resolve, sep} from 'node:path'

import {UserError} from '../errors.js'

/** users[].user.exec of a kubeconfig (client.authentication.k8s.io ExecConfig). */
export interface ExecConfig {
  command: string
  args?: string[]
  env?: {name: string; value: string}[] | null
  apiVersion?: string
  interactiveMode?: string
  provideClusterInfo?: boolean
}

export interface ExecCredential {
  token?: string
  clientCertificateData?: string
  clientKeyData?: string
  /** ms since the epoch; undefined: valid for the whole run. */
  expiresAt?: number
}

/** Bound on what a plugin may print: an ExecCredential is a few KiB. */
export const EXEC_OUTPUT_LIMIT = 1024 * 1024

const SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'status'],
  properties: {
    apiVersion: {type: 'string', pattern: '^client\\.authentication\\.k8s\\.io/v1(beta1|alpha1)?$'},
    kind: {const: 'ExecCredential'},
    status: {
      type: 'object',
      properties: {
        token: {type: 'string', minLength: 1},
        clientCertificateData: {type: 'string', minLength: 1},
        clientKeyData: {type: 'string', minLength: 1},
        expirationTimestamp: {type: 'string'},
      },
      anyOf: [{required: ['token']}, {required: ['clientCertificateData', 'clientKeyData']}],
    },
  },
} as const

/** kubectl's rule: a command with a path separator is relative to the kubeconfig's directory; a bare name uses PATH. */
export function resolveCommand(command: string, kubeconfigDir: string): string {
  if (isAbsolute(command) || !(command.includes('/') || command.includes(sep))) return command
  return resolve(kubeconfigDir, command)
}

/**
 * Runs a kubeconfig exec credential plugin, bounded: --request-timeout for its run, EXEC_OUTPUT_LIMIT for its output,
 * its whole process group killed on timeout, overflow or Ctrl-C; the output is validated as an ExecCredential.
 */
export async function runExecCredential(
  exec: ExecConfig,
  opts: {kubeconfigDir: string; timeoutMs: number; server: string; caData?: string; user: string},
): Promise<ExecCredential> {
  const {execa} = await import('execa')
  const command = resolveCommand(exec.command, opts.kubeconfigDir)
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1'
  const info = {
    apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo
        ? {cluster: {server: opts.server, ...(opts.caData ? {'certificate-authority-data': opts.caData} : {})}}
        : {}),
    },
  }
  const env: Record<string, string> = {KUBERNETES_EXEC_INFO: JSON.stringify(info)}
  for (const e of exec.env ?? []) if (e?.name) env[e.name] = String(e.value ?? '')
  const fail = (why: string, remedy?: string) =>
    new UserError(`exec credential plugin "${exec.command}" of user "${opts.user}" ${why}`, {
      remedy: remedy ?? 'Run the plugin by hand to see what it does, or fix the user entry in your kubeconfig.',
    })

  const child = execa(command, exec.args ?? [], {
    env,
    extendEnv: true,
    stdin: 'ignore',
    stderr: 'pipe',
    // Its own process group, so a timeout or Ctrl-C kills the plugin and everything it started.
    detached: true,
    cleanup: true,
    reject: false,
    maxBuffer: EXEC_OUTPUT_LIMIT,
    killSignal: 'SIGKILL',
    encoding: 'utf8',
  })
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  let interrupted = false
  let timedOut = false
  const onSigint = () => {
    interrupted = true
    killGroup()
  }
  process.on('SIGINT', onSigint)
  // Our own timer on the whole group: a child the plugin left behind would keep its stdout open past a plain kill.
  const timer = opts.timeoutMs > 0 ? setTimeout(() => ((timedOut = true), killGroup()), opts.timeoutMs) : undefined
  let result
  try {
    result = await child
  } finally {
    clearTimeout(timer)
    process.off('SIGINT', onSigint)
    killGroup()
  }
  if (interrupted) throw fail('was interrupted (SIGINT)')
  if (timedOut) {
    throw fail(
      `did not finish within ${opts.timeoutMs / 1000}s (the --request-timeout time bound)`,
      'Check that the plugin can run without a terminal (ebpfctl runs it non-interactively), or raise --request-timeout.',
    )
  }
  if (result.isMaxBuffer) throw fail(`printed more than ${EXEC_OUTPUT_LIMIT / 1024 / 1024} MiB (the byte bound)`)
  if (result.failed && result.exitCode === undefined) {
    throw fail(`could not be run (${command}: ${result.shortMessage ?? 'not found'})`, 'Install it, or fix the command path in your kubeconfig.')
  }
  if (result.exitCode !== 0) {
    const stderr = String(result.stderr ?? '').trim().split('\n').slice(-1)[0]?.slice(0, 200)
    throw fail(`exited with status ${result.exitCode}${stderr ? `: ${stderr}` : ''}`)
  }
  let doc: unknown
  try {
    doc = JSON.parse(String(result.stdout))
  } catch {
    throw fail('printed something that is not JSON (an ExecCredential was expected)')
  }
  const {Ajv} = await import('ajv')
  const validate = new Ajv({allErrors: false, strict: false}).compile(SCHEMA)
  if (!validate(doc)) {
    const e = validate.errors?.[0]
    throw fail(`printed an invalid ExecCredential (${e?.instancePath || '/'} ${e?.message ?? ''})`.replace(/\s+\)/, ')'))
  }
  const status = (doc as {status: {token?: string; clientCertificateData?: string; clientKeyData?: string; expirationTimestamp?: string}}).status
  const expiresAt = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : undefined
  return {
    token: status.token,
    clientCertificateData: status.clientCertificateData,
    clientKeyData: status.clientKeyData,
    expiresAt: Number.isNaN(expiresAt) ? undefined : expiresAt,
  }
}
