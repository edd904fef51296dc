#!/usr/bin/env node
// kubectl 1.26+ completes `kubectl calico-ebpf …` by running this with the words after the plugin name (the last one
// is the word under the cursor) and reading candidates one per line, then a `:N` directive: ebpfctl's own engine.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {execute} = await import('../dist/cli.js')
await execute({args: ['__complete', ...process.argv.slice(2)], dir: import.meta.url})
