#!/usr/bin/env node
// CommonJS (bin/package.json): an ES-module entry would start Node's ES-module loader before any of our code runs
// (~35 M instructions, ~0.25x `node -e 0`); `--version` and the local `check` never need it.
'use strict'
const {join} = require('node:path')

const root = join(__dirname, '..')
const argv = process.argv.slice(2)

// A check of this machine, the one command the start-up targets measure, goes to the local check's bundle; help, and
// flags or a kubeconfig that name a cluster or nodes, go to the full CLI at once. This only saves the detour: the
// bundle decides again from the flags oclif parsed, and hands anything but a local check back before doing it.
function maybeLocalCheck() {
  if (argv[0] !== 'check' || argv.some((a) => a === '--help' || a === '-h' || /^--(kubeconfig|context|nodes)(=|$)/.test(a))) {
    return false
  }
  if (argv.includes('--local')) return true
  if (process.env.KUBECONFIG?.split(':').some(Boolean)) return false
  const {existsSync} = require('node:fs')
  return !existsSync(join(process.env.HOME || require('node:os').homedir(), '.kube', 'config'))
}

function fullCli() {
  // oclif finds the package root by walking up from `dir`: the root itself, so that bin/package.json is not taken for it.
  return import('../dist/cli.js').then(({execute}) => execute({dir: root}))
}

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
  if (maybeLocalCheck()) {
    require('../dist/chunks/check-local.cjs')
      .runLocalCheck(argv.slice(1), root)
      .then((done) => done || fullCli())
  } else {
    fullCli()
  }
}
