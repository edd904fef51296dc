/** A CA and a server certificate for 127.0.0.1/localhost, made once per process with openssl (EC P-256, fast). */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'

export interface Certs {
  caPem: string
  certPem: string
  keyPem: string
}

let cached: Promise<Certs> | undefined

export function serverCerts(): Promise<Certs> {
  cached ??= generate().catch((err: unknown) => {
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
