#!/usr/bin/env node
// kubectl 1.26+ completes `kubectl calico-ebpf …` by running this with the words after the plugin name (the last one
// is the word under the cursor) and reading candidates one per line, then a `:N` directive: ebpfctl's own engine.
const {execute} = await import('@oclif/core')
await execute({args: ['__complete', ...process.argv.slice(2)], dir: import.meta.url})
