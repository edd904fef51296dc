#!/usr/bin/env node
// kubectl plugin entry: kubectl runs `kubectl-calico_ebpf` for `kubectl calico-ebpf …` (calicoctl owns `kubectl
// calico`). The same CLI as bin/run.js (the bundled dist/cli.js); help and usage name the command as it was called.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`kubectl calico-ebpf needs Node.js 20.19 or newer (this is ${process.version}); upgrade Node.js and run it again.\n`)
  process.exit(1)
}
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {readFileSync} = await import('node:fs')
const {fileURLToPath} = await import('node:url')
const root = fileURLToPath(new URL('..', import.meta.url))
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
pjson.oclif.bin = 'kubectl calico-ebpf'
const {execute} = await import('../dist/cli.js')
await execute({loadOptions: {root, pjson}})
