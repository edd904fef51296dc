#!/usr/bin/env node
// Writes V8's code cache for the local check's CommonJS bundle (dist/chunks/check-local.cjs.v8-cache, read by
// bin/run.js, which runs the local check and help from that bundle): run after `oclif manifest`, as the representative
// run below loads the manifest the way a user's does.
// The cache is taken after that run, so that it holds every function the run compiled; a cache taken before running
// holds only the top level, and V8 compiles the rest lazily on each start.
//
// The run happens in a child process (its output is not wanted, and a check may exit early through oclif's error
// handling) with the plain `node` a user has: V8 rejects a cache made under other V8 flags, so NODE_OPTIONS is
// dropped. A second child then loads the bundle as bin/run.js does and the build fails unless V8 accepts the cache.
'use strict'
const {spawnSync} = require('node:child_process')
const {writeFileSync} = require('node:fs')
const {join} = require('node:path')

const launcher = join(__dirname, '..', 'bin', 'run.js')

function child(...args) {
  const env = {...process.env, KUBECONFIG: '/nonexistent/ebpfctl-code-cache-kubeconfig', NO_COLOR: '1', OCLIF_DISABLE_ENGINE_WARNING: '1'}
  delete env.NODE_OPTIONS
  return spawnSync(process.execPath, [__filename, ...args], {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000})
}

const [mode] = process.argv.slice(2)
if (mode === '--record') {
  // A local check of this machine, as `ebpfctl check --local` runs it (bin/run.js).
  const {LOCAL_CHECK_BUNDLE, codeCacheBytes, codeCacheFile, requireBundle} = require(launcher)
  const bundle = requireBundle(LOCAL_CHECK_BUNDLE, {withoutCache: true})
  process.on('exit', () => {
    writeFileSync(codeCacheFile(LOCAL_CHECK_BUNDLE), codeCacheBytes(bundle.source, bundle.script.createCachedData()))
  })
  const root = join(__dirname, '..')
  // The root help and a local check of this machine: what bin/run.js takes to this bundle.
  bundle.exports
    .runHelp(['--help'], root)
    .then((done) => {
      if (!done) throw new Error('the bundle handed `--help` back to the full CLI')
      return bundle.exports.runLocalCheck(['--local'], root)
    })
    .then((done) => {
      if (!done) throw new Error('the bundle handed a local check back to the full CLI')
    })
} else if (mode === '--verify') {
  const {LOCAL_CHECK_BUNDLE, requireBundle} = require(launcher)
  const bundle = requireBundle(LOCAL_CHECK_BUNDLE)
  process.stdout.write(bundle.script && !bundle.cacheRejected ? 'accepted\n' : 'not used\n')
} else {
  const record = child('--record')
  if (record.error || record.signal) throw new Error(`code cache: the representative run failed: ${record.error ?? record.signal}\n${record.stderr}`)
  const verify = child('--verify')
  if (verify.stdout !== 'accepted\n') {
    throw new Error(`code cache: V8 does not accept the cache just written (${verify.stdout.trim() || verify.status})\n${verify.stderr}`)
  }
}
