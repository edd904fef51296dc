#!/usr/bin/env node
// Writes V8's code caches for the local check's CommonJS bundle, one per use of it (bin/run.js runs the local check
// and help from that bundle): dist/chunks/check-local.cjs.v8-cache for the local check and .help.v8-cache for help,
// each after a representative run of that use alone. Run after `oclif manifest`, as those runs load the manifest the
// way a user's does.
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

const [mode, use] = process.argv.slice(2)
if (mode === '--record') {
  const {LOCAL_CHECK_BUNDLE, codeCacheBytes, codeCacheFile, requireBundle} = require(launcher)
  const bundle = requireBundle(LOCAL_CHECK_BUNDLE, {use, withoutCache: true})
  process.on('exit', () => {
    writeFileSync(codeCacheFile(LOCAL_CHECK_BUNDLE, use), codeCacheBytes(bundle.source, bundle.script.createCachedData()))
  })
  const root = join(__dirname, '..')
  // What bin/run.js takes to this bundle: the root help, or a local check of this machine.
  const run = use === 'help' ? bundle.exports.runHelp(['--help'], root) : bundle.exports.runLocalCheck(['--local'], root)
  run.then((done) => {
    if (!done) throw new Error(`the bundle handed its ${use} run back to the full CLI`)
  })
} else if (mode === '--verify') {
  const {LOCAL_CHECK_BUNDLE, requireBundle} = require(launcher)
  const bundle = requireBundle(LOCAL_CHECK_BUNDLE, {use})
  process.stdout.write(bundle.script && !bundle.cacheRejected ? 'accepted\n' : 'not used\n')
} else {
  for (const use of require(launcher).CODE_CACHE_USES) {
    const record = child('--record', use)
    if (record.error || record.signal) throw new Error(`code cache: the representative ${use} run failed: ${record.error ?? record.signal}\n${record.stderr}`)
    const verify = child('--verify', use)
    if (verify.stdout !== 'accepted\n') {
      throw new Error(`code cache: V8 does not accept the ${use} cache just written (${verify.stdout.trim() || verify.status})\n${verify.stderr}`)
    }
  }
}
