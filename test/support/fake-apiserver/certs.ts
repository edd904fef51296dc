/**
 * A CA and a server certificate for 127.0.0.1/localhost, made with openssl (EC P-256, valid 10 years) once per machine
 * and user (cached as JSON in the temp dir), and once per process in memory.
 */
import {mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'

export interface Certs {
  caPem: string
  certPem: string
  keyPem: string
}

let cached: Promise<Certs> | undefined

/** Shared by the test processes of one machine (vitest runs each file in its own worker): generated once. */
const CACHE_FILE = join(tmpdir(), `fake-apiserver-certs-v1-${process.getuid?.() ?? 'u'}.json`)

export function serverCerts(): Promise<Certs> {
  cached ??= (async () => {
    try {
      const c = JSON.parse(readFileSync(CACHE_FILE, 'utf8')) as Certs
      if (c.caPem && c.certPem && c.keyPem) return c
    } catch {
      // not cached yet
    }
    const c = await generate()
    try {
      const tmp = `${CACHE_FILE}.${process.pid}.tmp`
      writeFileSync(tmp, JSON.stringify(c), {mode: 0o600})
      renameSync(tmp, CACHE_FILE)
    } catch {
      // the cache is an optimisation only
    }
    return c
  })().catch((err: unknown) => {
    cached = undefined
    throw err
  })
  return cached
}

async function generate(): Promise<Certs> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-apiserver-certs-'))
  const ssl = (...args: string[]) => execa('openssl', args, {cwd: dir, stdin: 'ignore'})
  try {
    await ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key')
    await ssl(
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-sha256',
      '-days',
      '3650',
      '-subj',
      '/CN=fake-kubernetes-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'ca.crt',
    )
    await ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key')
    await ssl('req', '-new', '-key', 'server.key', '-subj', '/CN=kube-apiserver', '-out', 'server.csr')
    writeFileSync(
      join(dir, 'ext.cnf'),
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
        'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n',
    )
    await ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3650',
      '-sha256',
      '-extfile',
      'ext.cnf',
      '-out',
      'server.crt',
    )
    const read = (f: string) => readFileSync(join(dir, f), 'utf8')
    return {caPem: read('ca.crt'), certPem: read('server.crt'), keyPem: read('server.key')}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
