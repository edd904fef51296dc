#!/usr/bin/env node
// Rewrites oclif.manifest.json (after `oclif manifest`) with every character above U+007F as a JSON \u escape: the
// same values for JSON.parse, but an ASCII file. oclif reads and parses the manifest on every start (help, the local
// check, every command); a single character like "—" in one description makes the whole ~100 KB text a two-byte
// string in V8, decoded, copied and parsed at about twice the cost.
'use strict'
const {readFileSync, writeFileSync} = require('node:fs')
const {join} = require('node:path')

const file = join(__dirname, '..', 'oclif.manifest.json')
const text = readFileSync(file, 'utf8')
const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
if (JSON.stringify(JSON.parse(ascii)) !== JSON.stringify(JSON.parse(text))) throw new Error(`${file}: escaping changed its values`)
if (ascii !== text) writeFileSync(file, ascii)
