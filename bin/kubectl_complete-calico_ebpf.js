#!/usr/bin/env node
// kubectl 1.26+ completes `kubectl calico-ebpf …` by running this with the words after the plugin name (the last one
// is the word under the cursor) and reading candidates one per line, then a `:N` directive: ebpfctl's own engine.
// CommonJS, as everything in bin/ (bin/package.json); `dir` is the package root, so that oclif does not take
// bin/package.json for it.
'use strict'
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {join} = require('node:path')
import('../dist/cli.js').then(({execute}) => execute({args: ['__complete', ...process.argv.slice(2)], dir: join(__dirname, '..')}))
