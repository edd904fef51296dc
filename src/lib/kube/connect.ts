import {existsSync} from 'node:fs'
import {Writable} from 'node:stream'

import {UserError} from '../errors.js'
import {type ExecOptions, type ExecResult, type KubeClient, HttpKubeClient} from './client.js'
import {backpressure} from '../nodes/bounds.js'
import {networkError} from './errors.js'
import {type ExecCredential, runExecCredential} from './exec-credential.js'
import {kubeconfigFiles} from './kubeconfig-path.js'
import {type DirectConfig, loadDirectConfig} from './kubeconfig.js'
import {cliCommand} from '../cli/name.js'

export {clusterRequested, hasKubeconfig, kubeconfigFiles} from './kubeconfig-path.js'

export interface KubeTarget {
  kubeconfig?: string
  context?: string
  timeoutMs: number
}

/**
 * Returns a client for the chosen context. Token and client-certificate kubeconfigs are read directly; everything else
 * (exec plugins, auth providers, proxies) by @kubernetes/client-node, imported only then — it costs about a second of
 * start-up. Pod exec always uses client-node's Exec, loaded on first use. Every problem is a one-line UserError (exit 2).
 */
export async function connect(target: KubeTarget): Promise<KubeClient> {
  const files = existingFiles(target)
  const direct = await loadDirectConfig(files, target.context)
  if (!direct) return connectWithClientNode(target, files)
  const {server} = direct
  const {Agent: HttpsAgent} = await import('node:https')
  const {Agent: HttpAgent} = await import('node:http')
  const agent = server.startsWith('http:') ? new HttpAgent({keepAlive: true}) : new HttpsAgent({keepAlive: true, ...direct.tls})
  const options = Promise.resolve({agent, headers: direct.headers})
  const credentials = direct.exec ? execCredentialOptions(direct, direct.exec, target.timeoutMs, agent) : undefined
  const exec = execThroughClientNode(server, async () => {
    const k8s = await import('@kubernetes/client-node')
    const kc = loadMerged(k8s, files)
    kc.setCurrentContext(direct.contextName)
    if (credentials) withExecCredential(kc, direct.exec!.user, await credentials.current())
    return {k8s, kc}
  })
  return new HttpKubeClient(
    {
      server,
      requestOptions: credentials ? credentials.options : () => options,
      timeoutMs: target.timeoutMs,
      exec,
      onClose: () => {
        agent.destroy()
        credentials?.close()
      },
    },
    direct.contextName,
  )
}

/**
 * Request options from an exec credential plugin that ebpfctl runs itself (bounded by --request-timeout and 1 MiB,
 * output validated), cached until the credential's expiry. client-node's own exec would run without any bound.
 */
function execCredentialOptions(
  direct: DirectConfig,
  exec: NonNullable<DirectConfig['exec']>,
  timeoutMs: number,
  plainAgent: import('node:http').Agent,
) {
  let cached: {credential: Promise<ExecCredential>; options: Promise<{agent?: import('node:http').Agent; headers: Record<string, string>}>} | undefined
  const agents: import('node:http').Agent[] = []
  const refresh = () => {
    const credential = runExecCredential(exec.config, {...exec, server: direct.server, timeoutMs})
    const options = credential.then(async (c) => {
      let agent = plainAgent
      if (c.clientCertificateData && c.clientKeyData && !direct.server.startsWith('http:')) {
        const {Agent: HttpsAgent} = await import('node:https')
        agent = new HttpsAgent({keepAlive: true, ...direct.tls, cert: c.clientCertificateData, key: c.clientKeyData})
        agents.push(agent)
      }
      return {agent, headers: {...direct.headers, ...(c.token ? {Authorization: `Bearer ${c.token}`} : {})}}
    })
    // A failed run stays failed for this command: the plugin is not started again by every parallel request.
    credential.catch(() => undefined)
    options.catch(() => undefined)
    cached = {credential, options}
    return cached
  }
  const live = async () => {
    const c = cached ?? refresh()
    const cred = await c.credential
    // Refresh a minute before expiry, as client-go does with its margin.
    return cred.expiresAt !== undefined && cred.expiresAt - Date.now() < 60_000 ? refresh() : c
  }
  return {
    options: async () => (await live()).options,
    current: async () => (await live()).credential,
    close: () => {
      for (const a of agents) a.destroy()
    },
  }
}

/** client-node's KubeConfig with the user's exec replaced by the credential already obtained (pod exec reuses it). */
function withExecCredential(kc: import('@kubernetes/client-node').KubeConfig, userName: string, c: ExecCredential): void {
  const b64 = (s?: string) => (s ? Buffer.from(s).toString('base64') : undefined)
  kc.loadFromOptions({
    clusters: kc.clusters,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
    users: kc.users.map((u) =>
      u.name === userName ? {name: u.name, token: c.token, certData: b64(c.clientCertificateData), keyData: b64(c.clientKeyData)} : u,
    ),
  })
}

function existingFiles(target: KubeTarget): string[] {
  const files = kubeconfigFiles(target.kubeconfig).filter((f) => existsSync(f))
  if (target.kubeconfig && !existsSync(target.kubeconfig)) {
    throw new UserError(`kubeconfig ${target.kubeconfig} does not exist`, {
      remedy: 'Pass the path of a kubeconfig file with --kubeconfig (or --local to check this machine).',
    })
  }
  const fromEnv = process.env.KUBECONFIG
  if (!target.kubeconfig && fromEnv && files.length === 0) {
    throw new UserError(`KUBECONFIG=${fromEnv} names no file that exists`, {
      remedy: 'Point KUBECONFIG at your kubeconfig, or unset it (and pass --local to check this machine).',
    })
  }
  if (files.length === 0) {
    throw new UserError('no kubeconfig found', {
      remedy: `Pass --kubeconfig or set KUBECONFIG (without one, \`${cliCommand('check')}\` checks only this machine).`,
    })
  }
  return files
}

async function connectWithClientNode(target: KubeTarget, files: string[]): Promise<KubeClient> {
  const k8s = await import('@kubernetes/client-node')
  const kc = loadMerged(k8s, files)
  if (target.context) {
    if (!kc.getContextObject(target.context)) {
      const known = kc.getContexts().map((c) => c.name)
      throw new UserError(`context "${target.context}" is not in the kubeconfig`, {
        remedy: known.length ? `Use one of: ${known.join(', ')}.` : 'The kubeconfig defines no contexts.',
      })
    }
    kc.setCurrentContext(target.context)
  }
  const cluster = kc.getCurrentCluster()
  if (!kc.currentContext || !cluster) {
    throw new UserError('the kubeconfig has no current context with a cluster', {
      remedy: 'Choose one with --context, or set it with kubectl config use-context.',
    })
  }
  const server = cluster.server.replace(/\/+$/, '')
  let cached: Promise<{agent?: import('node:http').Agent; headers: Record<string, string>}> | undefined
  const agents: import('node:http').Agent[] = []
  const requestOptions = () => {
    cached ??= (async () => {
      const opts: {agent?: import('node:http').Agent; headers?: Record<string, string>} = {}
      try {
        await kc.applyToHTTPSOptions(opts as never)
      } catch (err) {
        throw new UserError(`cannot use the credentials of context "${kc.currentContext}": ${(err as Error).message}`, {
          remedy: 'Check the user entry of this context in your kubeconfig.',
          cause: err,
        })
      }
      if (opts.agent) {
        // Keep-alive: one TLS handshake for all of a command's requests.
        ;(opts.agent as import('node:http').Agent & {keepAlive: boolean}).keepAlive = true
        agents.push(opts.agent)
      }
      return {agent: opts.agent, headers: {...opts.headers}}
    })()
    return cached
  }

  const exec = execThroughClientNode(server, async () => ({k8s, kc}))

  return new HttpKubeClient(
    {
      server,
      requestOptions,
      timeoutMs: target.timeoutMs,
      exec,
      onClose: () => {
        for (const a of agents) a.destroy()
      },
    },
    kc.currentContext,
  )
}

/** client-node's KubeConfig over several files, merged as kubectl does: the first file to define a name wins. */
function loadMerged(k8s: typeof import('@kubernetes/client-node'), files: string[]): import('@kubernetes/client-node').KubeConfig {
  const kc = new k8s.KubeConfig()
  try {
    // Like kubectl, the first file wins and later files only add entries (client-node would throw on duplicates).
    kc.loadFromFile(files[0]!)
    for (const extra of files.slice(1)) {
      const more = new k8s.KubeConfig()
      more.loadFromFile(extra)
      const has = (list: {name: string}[], name: string) => list.some((x) => x.name === name)
      kc.loadFromOptions({
        clusters: [...kc.clusters, ...more.clusters.filter((c) => !has(kc.clusters, c.name))],
        users: [...kc.users, ...more.users.filter((u) => !has(kc.users, u.name))],
        contexts: [...kc.contexts, ...more.contexts.filter((c) => !has(kc.contexts, c.name))],
        currentContext: kc.currentContext || more.currentContext,
      })
    }
  } catch (err) {
    throw new UserError(`cannot read kubeconfig ${files.join(':')}: ${(err as Error).message.split('\n')[0]}`, {
      remedy: 'Fix the file (kubectl config view shows what kubectl makes of it) or pass another with --kubeconfig.',
      cause: err,
    })
  }
  return kc
}

/** Pod exec over WebSocket with client-node's Exec (v5/v4 channel protocols); the exit code comes from the status channel. */
function execThroughClientNode(
  server: string,
  load: () => Promise<{k8s: typeof import('@kubernetes/client-node'); kc: import('@kubernetes/client-node').KubeConfig}>,
): (namespace: string, pod: string, container: string, argv: string[], opts: ExecOptions) => Promise<ExecResult> {
  return async (namespace, pod, container, argv, opts): Promise<ExecResult> => {
    opts.signal?.throwIfAborted()
    const {k8s, kc} = await load()
    const out: Buffer[] = []
    const err: Buffer[] = []
    const sink = (to: Buffer[], forward?: (chunk: Buffer) => unknown) =>
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (!forward) {
            to.push(chunk)
            return cb()
          }
          const wait = backpressure(forward(chunk))
          if (wait) wait.then(() => cb(), () => cb())
          else cb()
        },
      })
    const stdout = sink(out, opts.stdout)
    const stderr = sink(err, opts.stderr)
    let socket: {close(): void} | undefined
    const finished = new Promise<number>((resolve, reject) => {
      const end = () => {
        clearTimeout(timer)
        opts.signal?.removeEventListener('abort', onAbort)
      }
      const timer = setTimeout(() => {
        end()
        socket?.close()
        reject(networkError(Object.assign(new Error('timeout'), {name: 'TimeoutError'}), {
          server,
          verb: 'exec',
          timeoutMs: opts.timeoutMs,
        }))
      }, opts.timeoutMs)
      // The caller gave up (e.g. output limit): stop reading at once rather than at the timeout.
      const onAbort = () => {
        end()
        socket?.close()
        reject(opts.signal!.reason)
      }
      opts.signal?.addEventListener('abort', onAbort, {once: true})
      new k8s.Exec(kc)
        .exec(namespace, pod, container, argv, stdout, stderr, null, false, (status) => {
          end()
          if (status.status === 'Success') resolve(0)
          else {
            const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message
            // The runtime's reason (e.g. `exec: "calico-node": executable file not found in $PATH`) is only in the
            // status: pass it on as stderr, so the failure says why and not just "exit 1".
            if (code === undefined && status.message) err.push(Buffer.from(`${status.message}\n`))
            resolve(code === undefined ? 1 : Number(code))
          }
        })
        .then((ws) => {
          socket = ws as unknown as {close(): void}
          if (opts.signal?.aborted) socket.close()
          ws.on('close', () => {
            // A close without a status frame: the connection dropped before the command ended.
            setTimeout(() => {
              end()
              reject(
                new UserError(`exec into pod ${namespace}/${pod} ended without an exit status`, {
                  remedy: 'Check the pod and the API server; the connection closed early.',
                }),
              )
            }, 50)
          })
        })
        .catch((e: unknown) => {
          end()
          reject(e)
        })
    })
    const exitCode = await finished
    return {stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode}
  }
}
