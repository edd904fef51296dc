import {dirname, isAbsolute, resolve} from 'node:path'

import {readBoundedFile} from '../bounded-file.js'
import {UserError} from '../errors.js'
import type {ExecConfig} from './exec-credential.js'

/**
 * A kubeconfig read without @kubernetes/client-node, for the common case: a context whose user authenticates with a
 * token or a client certificate and whose cluster has a CA (or skips TLS verification). Importing client-node costs
 * about a second of start-up on this class of machine, and a 5,000-node `check` must finish in 2 s. Anything else —
 * exec plugins, auth providers, basic auth, impersonation, proxies — goes through client-node (`undefined` here).
 */
export interface DirectConfig {
  contextName: string
  server: string
  tls: {ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean; servername?: string}
  headers: Record<string, string>
  /** An exec credential plugin, run by ebpfctl itself (bounded: exec-credential.ts), never by client-node. */
  exec?: {config: ExecConfig; kubeconfigDir: string; user: string; caData?: string}
}

interface NamedCluster {
  name: string
  cluster?: Record<string, unknown>
}
interface NamedUser {
  name: string
  user?: Record<string, unknown>
}
interface NamedContext {
  name: string
  context?: {cluster?: string; user?: string; namespace?: string}
}
interface RawKubeconfig {
  clusters?: NamedCluster[]
  users?: NamedUser[]
  contexts?: NamedContext[]
  'current-context'?: string
}

const CLUSTER_KEYS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions'])
const USER_KEYS = new Set(['token', 'token-file', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'extensions', 'exec'])

function mergeFirstWins<T extends {name: string}>(lists: {items: T[]; dir: string}[]): Map<string, {item: T; dir: string}> {
  const out = new Map<string, {item: T; dir: string}>()
  for (const {items, dir} of lists) for (const item of items) if (item?.name && !out.has(item.name)) out.set(item.name, {item, dir})
  return out
}

/**
 * A kubeconfig and the certificate and token files it names are local files we do not control: regular files only,
 * at most this many bytes (a FIFO or /dev/zero named there would otherwise hang or fill memory).
 */
const KUBECONFIG_FILE_LIMIT = 16 * 1024 * 1024

function fileOrData(dir: string, file: unknown, data: unknown): Buffer | undefined {
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64')
  if (typeof file === 'string' && file) return readBoundedFile(isAbsolute(file) ? file : resolve(dir, file), KUBECONFIG_FILE_LIMIT)
  return undefined
}

/** Parses the files as kubectl merges them (the first file to define a name wins) and resolves the context. */
export async function loadDirectConfig(files: string[], contextFlag: string | undefined): Promise<DirectConfig | undefined> {
  const {parse} = await import('../yaml.js')
  const docs: {doc: RawKubeconfig; dir: string}[] = []
  for (const file of files) {
    let doc: RawKubeconfig
    try {
      doc = (parse(readBoundedFile(file, KUBECONFIG_FILE_LIMIT).toString('utf8')) ?? {}) as RawKubeconfig
    } catch (err) {
      throw new UserError(`cannot read kubeconfig ${file}: ${(err as Error).message.split('\n')[0]}`, {
        remedy: 'Fix the file (kubectl config view shows what kubectl makes of it) or pass another with --kubeconfig.',
        cause: err,
      })
    }
    docs.push({doc, dir: dirname(resolve(file))})
  }
  const contexts = mergeFirstWins(docs.map(({doc, dir}) => ({items: doc.contexts ?? [], dir})))
  const clusters = mergeFirstWins(docs.map(({doc, dir}) => ({items: doc.clusters ?? [], dir})))
  const users = mergeFirstWins(docs.map(({doc, dir}) => ({items: doc.users ?? [], dir})))
  const current = contextFlag ?? docs.map((d) => d.doc['current-context']).find(Boolean)
  if (contextFlag && !contexts.has(contextFlag)) {
    const known = [...contexts.keys()]
    throw new UserError(`context "${contextFlag}" is not in the kubeconfig`, {
      remedy: known.length ? `Use one of: ${known.join(', ')}.` : 'The kubeconfig defines no contexts.',
    })
  }
  const context = current ? contexts.get(current)?.item.context : undefined
  const cluster = context?.cluster ? clusters.get(context.cluster) : undefined
  if (!current || !context || !cluster?.item.cluster?.server) {
    throw new UserError('the kubeconfig has no current context with a cluster', {
      remedy: 'Choose one with --context, or set it with kubectl config use-context.',
    })
  }
  const c = cluster.item.cluster
  const user = context.user ? users.get(context.user) : undefined
  const u = user?.item.user ?? {}
  if (Object.keys(c).some((k) => !CLUSTER_KEYS.has(k)) || Object.keys(u).some((k) => !USER_KEYS.has(k))) return undefined
  const server = String(c.server).replace(/\/+$/, '')
  try {
    const headers: Record<string, string> = {}
    const tokenFile = typeof u['token-file'] === 'string' ? String(u['token-file']) : undefined
    const token = typeof u.token === 'string' ? u.token : tokenFile ? readBoundedFile(resolve(user!.dir, tokenFile), KUBECONFIG_FILE_LIMIT).toString('utf8').trim() : undefined
    if (token) headers.Authorization = `Bearer ${token}`
    const exec = !token && u.exec && typeof u.exec === 'object' ? (u.exec as ExecConfig) : undefined
    if (exec && typeof exec.command !== 'string') throw new Error('users[].user.exec.command is not set')
    const caData = c['certificate-authority-data']
    return {
      ...(exec
        ? {exec: {config: exec, kubeconfigDir: user!.dir, user: context.user!, caData: typeof caData === 'string' ? caData : undefined}}
        : {}),
      contextName: current,
      server,
      headers,
      tls: {
        ca: fileOrData(cluster.dir, c['certificate-authority'], c['certificate-authority-data']),
        cert: fileOrData(user?.dir ?? cluster.dir, u['client-certificate'], u['client-certificate-data']),
        key: fileOrData(user?.dir ?? cluster.dir, u['client-key'], u['client-key-data']),
        rejectUnauthorized: c['insecure-skip-tls-verify'] !== true,
        servername: typeof c['tls-server-name'] === 'string' ? c['tls-server-name'] : undefined,
      },
    }
  } catch (err) {
    throw new UserError(`cannot use the credentials of context "${current}": ${(err as Error).message}`, {
      remedy: 'Check the user and cluster entries of this context in your kubeconfig.',
      cause: err,
    })
  }
}

/** The context names the kubeconfig files define (shell completion of --context); unreadable files are skipped. */
export async function kubeconfigContexts(files: string[]): Promise<string[]> {
  const {parse} = await import('../yaml.js')
  const names = new Set<string>()
  for (const file of files) {
    try {
      const doc = (parse(readBoundedFile(file, KUBECONFIG_FILE_LIMIT).toString('utf8')) ?? {}) as RawKubeconfig
      for (const c of doc.contexts ?? []) if (typeof c?.name === 'string') names.add(c.name)
    } catch {
      // completion never fails loudly
    }
  }
  return [...names]
}
