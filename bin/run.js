#!/usr/bin/env node
// CommonJS (bin/package.json): an ES-module entry would start Node's ES-module loader before any of our code runs
// (~35 M instructions, ~0.25x `node -e 0`); `--version` and the local `check` never need it.
'use strict'
const {join} = require('node:path')

const root = join(__dirname, '..')
const argv = process.argv.slice(2)

// V8's code cache for a CommonJS bundle, written by the build (scripts/code-cache.cjs) after a representative run, so
// that it holds the functions that run compiled, not only the top level: the local check and help then neither parse
// nor compile most of their ~320 KB of oclif and checks (~80 M instructions, ~0.9x `node -e 0`, of every start).
// The file is a header line naming the format and V8's version (another V8 rejects the data: it is not even read
// further), the CRC-32 of the bundle's bytes followed by V8's data, then V8's data. V8 itself checks only its
// version, its flags and the source's length, and trusts the rest, so the CRC binds the data to these exact bytes and
// catches a damaged file. Anything that does not fit (no file, damage, another V8 or V8 flags, source maps on)
// compiles the bundle as require() would, with the same behaviour.
// The header line is padded with spaces to put V8's data at a multiple of 8 bytes: V8 copies data that is not aligned
// (~420 KB of fresh memory, ~100 page faults, on every start) before reading it.
const CODE_CACHE_LINE = `ebpfctl code cache 3 v8-${process.versions.v8}`
const CODE_CACHE_HEADER = `${CODE_CACHE_LINE}${' '.repeat(7 - ((CODE_CACHE_LINE.length + 1 + 4 + 7) % 8))}\n`
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) {\n'

function codeCacheFile(file) {
  return `${file}.v8-cache`
}

/** The cache file's V8 data if it belongs to `source` (a Buffer of the bundle), else undefined. */
function readCodeCache(file, source) {
  let bytes
  try {
    bytes = require('node:fs').readFileSync(codeCacheFile(file))
  } catch {
    return undefined
  }
  const head = Buffer.byteLength(CODE_CACHE_HEADER) + 4
  if (bytes.length <= head || bytes.toString('latin1', 0, head - 4) !== CODE_CACHE_HEADER) return undefined
  const data = bytes.subarray(head)
  const {crc32} = require('node:zlib')
  return bytes.readUInt32LE(head - 4) === crc32(data, crc32(source)) ? data : undefined
}

/** The cache file for `source` (a Buffer of the bundle) holding V8's `data`. */
function codeCacheBytes(source, data) {
  const {crc32} = require('node:zlib')
  const sum = Buffer.alloc(4)
  sum.writeUInt32LE(crc32(data, crc32(source)))
  return Buffer.concat([Buffer.from(CODE_CACHE_HEADER, 'latin1'), sum, data])
}

/**
 * require(file) for a CommonJS bundle of ours, compiled with its code cache when there is a usable one. Returns the
 * module's exports and, when it went through V8 here, the vm.Script (the build asks it for the cache).
 */
function requireBundle(file, {withoutCache = false} = {}) {
  // Source maps (--enable-source-maps) are registered by require() for the files it compiles: keep them exact.
  if (process.sourceMapsEnabled) return {exports: require(file)}
  let source
  try {
    source = require('node:fs').readFileSync(file)
  } catch {
    return {exports: require(file)} // require's own error for a missing bundle
  }
  const cachedData = withoutCache ? undefined : readCodeCache(file, source)
  if (!cachedData && !withoutCache) return {exports: require(file)}
  const Module = require('node:module')
  const {dirname} = require('node:path')
  // The wrapper on a line of its own (lineOffset -1): the minified bundle's lines and columns stay its own in traces.
  // Latin-1 decodes ASCII as UTF-8 does, with a plain copy: these are the bytes the build checked to be ASCII (the
  // CRC says so, or this is the build itself).
  const script = new (require('node:vm').Script)(`${WRAPPER_HEAD}${source.toString('latin1')}\n})`, {
    filename: file,
    lineOffset: -1,
    cachedData,
  })
  const mod = new Module(file, module)
  mod.filename = file
  mod.paths = Module._nodeModulePaths(dirname(file))
  Module._cache[file] = mod
  try {
    script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, dirname(file))
  } catch (error) {
    delete Module._cache[file] // as require() leaves a module that threw
    throw error
  }
  mod.loaded = true
  return {exports: mod.exports, script, source, cacheRejected: script.cachedDataRejected === true}
}

// A check of this machine, the one command the start-up targets measure, goes to the local check's bundle; flags or a
// kubeconfig that name a cluster or nodes go to the full CLI at once (help is sent to the bundle earlier: isHelp).
// This only saves the detour: the bundle decides again from the flags oclif parsed, and hands anything but a local
// check back before doing it.
function maybeLocalCheck() {
  if (argv[0] !== 'check' || argv.some((a) => a === '--help' || a === '-h' || /^--(kubeconfig|context|nodes)(=|$)/.test(a))) {
    return false
  }
  if (argv.includes('--local')) return true
  if (process.env.KUBECONFIG?.split(':').some(Boolean)) return false
  const {existsSync} = require('node:fs')
  return !existsSync(join(process.env.HOME || require('node:os').homedir(), '.kube', 'config'))
}

// What oclif answers with help alone (main.js, helpAddition): no arguments, or --help before a `--`. Help comes from
// the manifest, so the local check's bundle, which has oclif, renders it (runHelp hands anything else back).
function isHelp() {
  const end = argv.indexOf('--')
  return argv.length === 0 || (end === -1 ? argv : argv.slice(0, end)).includes('--help')
}

function fullCli() {
  // oclif finds the package root by walking up from `dir`: the root itself, so that bin/package.json is not taken for it.
  return import('../dist/cli.js').then(({execute}) => execute({dir: root}))
}

const LOCAL_CHECK_BUNDLE = join(root, 'dist', 'chunks', 'check-local.cjs')

function main() {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    // `ebpfctl --version` (or -v): the same line oclif prints (config.userAgent), without loading @oclif/core.
    const {readFileSync} = require('node:fs')
    const {arch, platform} = require('node:os')
    const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    const cpu = arch() === 'ia32' ? 'x86' : arch()
    process.stdout.write(`${pjson.name}/${pjson.version} ${platform()}-${cpu} node-${process.version}\n`)
  } else {
    // engines.node, checked here with a plain comparison so that oclif's own check (semver and a package.json lookup,
    // ~10 ms of every start) can be switched off.
    const [major, minor] = process.versions.node.split('.').map(Number)
    if (major < 20 || (major === 20 && minor < 19)) {
      process.stderr.write(`ebpfctl needs Node.js 20.19 or newer (this is ${process.version}); upgrade Node.js and run it again.\n`)
      process.exit(1)
    }
    process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
    if (isHelp()) {
      requireBundle(LOCAL_CHECK_BUNDLE)
        .exports.runHelp(argv, root)
        .then((done) => done || fullCli())
    } else if (maybeLocalCheck()) {
      requireBundle(LOCAL_CHECK_BUNDLE)
        .exports.runLocalCheck(argv.slice(1), root)
        .then((done) => done || fullCli())
    } else {
      fullCli()
    }
  }
}

// The build (scripts/code-cache.cjs) loads this file for requireBundle and the cache format.
if (require.main === module) main()
else module.exports = {CODE_CACHE_HEADER, LOCAL_CHECK_BUNDLE, codeCacheBytes, codeCacheFile, requireBundle}
