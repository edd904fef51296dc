#!/usr/bin/env node
// CommonJS, as everything in bin/ (bin/package.json); `dir` is the package root, so that oclif does not take
// bin/package.json for it.
'use strict'
const {join} = require('node:path')
import('@oclif/core').then(({execute}) => execute({development: true, dir: join(__dirname, '..')}))
