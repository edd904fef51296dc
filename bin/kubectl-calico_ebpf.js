#!/usr/bin/env node
// kubectl plugin entry: kubectl runs `kubectl-calico_ebpf` for `kubectl calico-ebpf …` (calicoctl owns `kubectl
// calico`). The same CLI as bin/run.js (the bundled dist/cli.js); help and usage name the command as it was called.
// CommonJS, as everything in bin/ (bin/package.json).
'use strict'
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`kubectl calico-ebpf needs Node.js 20.19 or newer (this is ${process.version}); upgrade Node.js and run it again.\n`)
  process.exit(1)
}
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {readFileSync} = require('node:fs')
const {join} = require('node:path')
const root = join(__dirname, '..')
const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
pjson.oclif.bin = 'kubectl calico-ebpf'
import('../dist/cli.js').then(({execute}) => execute({loadOptions: {root, pjson}}))
