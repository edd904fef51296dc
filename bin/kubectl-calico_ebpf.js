#!/usr/bin/env node
// kubectl plugin entry: kubectl runs `kubectl-calico_ebpf` for `kubectl calico-ebpf …` (calicoctl owns `kubectl
// calico`). The same CLI as bin/run.js; help and usage name the command as it was called.
const {readFileSync} = await import('node:fs')
const {fileURLToPath} = await import('node:url')
const root = fileURLToPath(new URL('..', import.meta.url))
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
pjson.oclif.bin = 'kubectl calico-ebpf'
const {execute} = await import('@oclif/core')
await execute({loadOptions: {root, pjson}})
