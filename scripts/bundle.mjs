#!/usr/bin/env node
// Bundles the CLI for start-up: one ESM file per command (at the path oclif's manifest names, so no command module
// loads until it runs), plus the launcher's entry, with code shared between them in chunks. Node spends most of a
// cold start resolving and reading hundreds of small files (@oclif/core alone is ~70, semver ~50); a bundle reads a
// handful. Dynamic imports stay dynamic (separate chunks), so heavy code still loads only where it is needed.
// Run after `tsc` (which keeps emitting dist/ for types and the library entry) and before `oclif manifest`.
import {build} from 'esbuild'
import {readFileSync, readdirSync, rmSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function commandEntries(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...commandEntries(path))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

const srcCommands = join(root, 'src', 'commands')
const entryPoints = [
  {in: join(root, 'src', 'cli.ts'), out: 'cli'},
  ...commandEntries(srcCommands).map((file) => ({
    in: file,
    out: join('commands', relative(srcCommands, file).replace(/\.ts$/, '')),
  })),
]

// Inside the bundle only: lighter stand-ins for packages @oclif/core loads on every start (see each file for why).
const SHIMS = {
  debug: './scripts/bundle-shims/debug.cjs',
  'supports-color': './scripts/bundle-shims/supports-color.cjs',
  'wsl-utils': './scripts/bundle-shims/wsl-utils.mjs',
}

// A shim's `require('real:NAME')`: the very file of package NAME that @oclif/core would load, bundled (the alias above
// would turn a plain `require('NAME')` back into the shim). Bundled rather than left to Node: Node's lookup of a
// package in node_modules (its package.json's exports go through the ES-module resolver, whose first use compiles a
// ~47 KB regular expression) and the compile of its files without a code cache cost more than the module does.
const oclifRequire = createRequire(join(root, 'node_modules', '@oclif', 'core', 'package.json'))
const realPackages = {
  name: 'real-packages',
  setup(pluginBuild) {
    pluginBuild.onResolve({filter: /^real:/}, (args) => ({path: oclifRequire.resolve(args.path.slice('real:'.length))}))
  },
}

// A package we import() lazily is loaded by Node from node_modules: it is off the start-up path anyway, and a split
// chunk of a CommonJS package has only a default export, so `const {parse} = await import('yaml')` would find nothing.
const lazyPackagesStayExternal = {
  name: 'lazy-packages-stay-external',
  setup(pluginBuild) {
    pluginBuild.onResolve({filter: /^[^./]/}, (args) =>
      args.kind === 'dynamic-import' && !args.path.startsWith('node:') && !(args.path in SHIMS)
        ? {path: args.path, external: true}
        : undefined,
    )
  },
}

// What @oclif/core requires eagerly but our start-up never uses: loaded on first use (scripts/bundle-shims/lazy.cjs).
// A package among them is also kept out of the shared chunk, in a file of its own (dist/chunks/lazy/NAME.cjs): V8
// pre-parses every byte of a file it loads, and these (~260 KB of semver, glob matching, ejs, spinner frames) were
// ~60% of the chunk every command loads. node:fs/promises loads eight more built-in modules (fs/dir, fs/watchers, the
// readline interface…), ~8 M instructions; with util/fs.js's readJson made synchronous (OCLIF_EDITS) neither help
// nor the local check calls it.
const LAZY_BUILTINS = ['child_process', 'readline', 'perf_hooks', 'fs/promises']
const LAZY_PACKAGES = ['tinyglobby', 'minimatch', 'lilconfig', 'ejs', 'semver', 'cli-spinners']
const lazyPackageFiles = new Map() // name → the path oclif would load it from
const lazyInOclif = {
  name: 'lazy-in-oclif',
  setup(pluginBuild) {
    const filter = new RegExp(`^(node:)?(${[...LAZY_BUILTINS, ...LAZY_PACKAGES].join('|')})$`)
    pluginBuild.onResolve({filter}, async (args) => {
      if (args.kind !== 'require-call' || !args.importer.includes('/node_modules/@oclif/core/')) return undefined
      const name = args.path.replace(/^node:/, '')
      let target = `node:${name}` // a built-in stays a runtime require
      if (!LAZY_BUILTINS.includes(name)) {
        const real = await pluginBuild.resolve(args.path, {kind: 'require-call', resolveDir: args.resolveDir, pluginData: 'real'})
        if (real.errors.length > 0) throw new Error(`${name}: ${real.errors[0].text}`)
        const known = lazyPackageFiles.get(name)
        if (known && known !== real.path) throw new Error(`${name}: oclif loads two copies (${known}, ${real.path})`)
        lazyPackageFiles.set(name, real.path)
        target = `./lazy/${name}.cjs` // beside the chunk that requires it (checked after the build)
      }
      return {path: target, namespace: 'lazy', pluginData: target}
    })
    pluginBuild.onResolve({filter: /^\.\/lazy\//}, (args) => (args.namespace === 'lazy' ? {path: args.path, external: true} : undefined))
    pluginBuild.onLoad({filter: /.*/, namespace: 'lazy'}, (args) => ({
      contents: `module.exports = require(${JSON.stringify(join(root, 'scripts', 'bundle-shims', 'lazy.cjs'))})(() => require(${JSON.stringify(args.pluginData)}))`,
      loader: 'js',
      resolveDir: root,
    }))
  },
}

// Edits to the code of @oclif/core (and of string-width, which its help uses), inside the bundle only. Each must find
// the exact line: the build fails if an upgrade changes it, so an edit cannot be silently dropped or misapplied.
const OCLIF_EDITS = [
  {
    // oclif sorts the manifest's commands with localeCompare on every start: the first localeCompare makes V8 build
    // ICU's collator locale list, ~70 M instructions (~0.14x `node -e 0`) for one sort of ~20 ASCII ids. Code units
    // instead; test/unit/cli/bundle-edits.test.ts checks that both orders agree for our command ids.
    file: /[/\\]@oclif[/\\]core[/\\]lib[/\\]config[/\\]plugin\.js$/,
    from: '.sort((a, b) => a.id.localeCompare(b.id));',
    to: '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));',
  },
  {
    // Help runs every description, summary, example and list cell through ejs, which compiles each into a new
    // Function (a parse each, and loading ejs itself). Text without any ejs tag (every tag contains `<%` or `%>`)
    // renders as itself, and `<%= config.bin %>` (the one tag in the root help) as the bin, HTML-escaped as ejs
    // escapes it; anything else still goes to ejs. test/unit/cli/bundle-edits.test.ts holds ejs to that.
    file: /[/\\]@oclif[/\\]core[/\\]lib[/\\]help[/\\]util\.js$/,
    from: 'return ejs_1.default.render(t, context);',
    to: "const plain = typeof t === 'string' && t.replaceAll('<%= config.bin %>', ''); if (plain !== false && !plain.includes('<%') && !plain.includes('%>')) return t.replaceAll('<%= config.bin %>', () => String(context.config.bin ?? '').replace(/[&<>'\"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', \"'\": '&#39;', '\"': '&#34;'})[c])); return ejs_1.default.render(t, context);",
  },
  {
    // oclif measures every help cell with string-width 4, which runs emoji-regex (a ~10 KB alternation, compiled and
    // run on each string) before counting. Printable ASCII has no emoji and one column per character, so its width is
    // its length; test/unit/cli/bundle-edits.test.ts holds string-width to that.
    file: /[/\\]node_modules[/\\]string-width[/\\]index\.js$/,
    from: "\tstring = string.replace(emojiRegex(), '  ');",
    to: "\tif (!/[^\\x20-\\x7e]/.test(string)) return string.length;\n\tstring = string.replace(emojiRegex(), '  ');",
  },
  {
    // oclif reads package.json, the manifest and the theme files with fs/promises: the first one starts libuv's
    // thread pool (4 threads) and each read is four round trips through it (open, stat, read, close). The CLI reads
    // nothing else asynchronously on the way to a local check, so a synchronous read of these few small files takes
    // the pool off every start. Errors stay errors (readJson throws, safeReadJson returns undefined).
    file: /[/\\]@oclif[/\\]core[/\\]lib[/\\]util[/\\]fs\.js$/,
    from: "const contents = await (0, promises_1.readFile)(path, 'utf8');",
    to: "const contents = (0, node_fs_1.readFileSync)(path, 'utf8');",
  },
  {
    // ansis (oclif's colours) writes ESC and CSI (U+009B) as raw characters in its strip regex. One character above
    // U+007F makes the whole ~320 KB local check bundle a two-byte string in V8 (twice the memory, a slower UTF-8
    // decode and scan on every start): the same regex with escapes. The build checks that bundle stays ASCII (below).
    file: /[/\\]node_modules[/\\]ansis[/\\]index\.js$/,
    from: 'e.replace(/[\u001b\u009b][[()#;?]*',
    to: 'e.replace(/[\\x1b\\x9b][[()#;?]*',
  },
]
/** The plugin making `edits` (each `from` found exactly `count` times, default once, in its file, or the build fails). */
function editsPlugin(name, edits) {
  return {
    name,
    setup(pluginBuild) {
      for (const edit of edits) {
        pluginBuild.onLoad({filter: edit.file}, (args) => {
          const source = readFileSync(args.path, 'utf8')
          if (source.split(edit.from).length !== (edit.count ?? 1) + 1) {
            throw new Error(`${args.path}: oclif's code changed (${edit.from}); revisit scripts/bundle.mjs`)
          }
          return {contents: source.replaceAll(edit.from, edit.to), loader: 'js'}
        })
      }
    },
  }
}
const oclifEdits = editsPlugin('oclif-edits', OCLIF_EDITS)

/** What the CLI's bundle and the local check's bundle share. */
const commonOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Left to node_modules: packages with native add-ons or optional runtime requires (ssh2 → cpu-features,
  // client-node → ws, openid-client…) and oclif's TypeScript development mode (never used by the built CLI).
  external: ['@kubernetes/client-node', 'ssh2', 'typescript', 'ts-node'],
  alias: SHIMS,
}

rmSync(join(root, 'dist', 'chunks'), {force: true, recursive: true})
await build({
  ...commonOptions,
  entryPoints,
  outdir: join(root, 'dist'),
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  format: 'esm',
  plugins: [lazyPackagesStayExternal, realPackages, lazyInOclif, oclifEdits],
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins and read __dirname.
  banner: {
    js: [
      "import {createRequire as __ebpfctlCreateRequire} from 'node:module';",
      "import {dirname as __ebpfctlDirname} from 'node:path';",
      "import {fileURLToPath as __ebpfctlFileURLToPath} from 'node:url';",
      'const require = __ebpfctlCreateRequire(import.meta.url);',
      'const __filename = __ebpfctlFileURLToPath(import.meta.url);',
      'const __dirname = __ebpfctlDirname(__filename);',
    ].join(''),
  },
})

// The local check's bundle (src/check-entry.ts; bin/run.js requires it for `ebpfctl check` when no cluster is asked
// for): oclif, the check command and what a check of this machine runs, in one CommonJS file. A CommonJS entry keeps
// Node's ES-module loader from starting (~35 M instructions, ~0.25x `node -e 0`, before any code of ours) and one file
// is read and compiled instead of ~20. esbuild cannot split CommonJS, so a dynamic import is inlined here; the modules
// only a check of a cluster or of other nodes imports are left out (CLUSTER_ONLY: check-entry.ts hands those checks
// to the full CLI before it runs anything), and a built-in is required, not imported (import() starts the loader).
const CLUSTER_ONLY = [
  /[/\\]src[/\\]lib[/\\]kube[/\\]/,
  /[/\\]src[/\\]lib[/\\]nodes[/\\](index|debug-pod|exec|ssh|local|select)\.ts$/,
  /[/\\]src[/\\]lib[/\\]checks[/\\](node-facts|calico-info|cluster[/\\].*)\.ts$/,
  /[/\\]src[/\\]lib[/\\]felix-log\.ts$/,
  /[/\\]src[/\\]lib[/\\]output[/\\]node-errors\.ts$/,
]
const LOCAL_CHECK_BUNDLED_PACKAGES = ['chalk'] // colour for a terminal: small, and on the local path
// A module that only re-exports a package, imported dynamically: the package from node_modules (for `-o yaml` only)
// instead of ~160 KB of it compiled on every local check.
const LOCAL_CHECK_PACKAGE_MODULES = {[join('src', 'lib', 'yaml.ts')]: 'yaml'}
const localCheckImports = {
  name: 'local-check-imports',
  setup(pluginBuild) {
    pluginBuild.onResolve({filter: /.*/}, async (args) => {
      if (args.kind !== 'dynamic-import' || args.pluginData === 'real') return undefined
      if (args.path.startsWith('node:')) return {path: args.path, namespace: 'builtin-require'}
      if (!args.path.startsWith('.')) {
        return LOCAL_CHECK_BUNDLED_PACKAGES.includes(args.path) || args.path in SHIMS ? undefined : {path: args.path, external: true}
      }
      const real = await pluginBuild.resolve(args.path, {kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'real'})
      if (real.errors.length > 0) return real
      const packageName = LOCAL_CHECK_PACKAGE_MODULES[relative(root, real.path)]
      if (packageName) return {path: packageName, namespace: 'package-require'}
      if (!CLUSTER_ONLY.some((re) => re.test(real.path))) return real
      return {path: relative(root, real.path), namespace: 'cluster-only'}
    })
    pluginBuild.onLoad({filter: /.*/, namespace: 'builtin-require'}, (args) => ({contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js'}))
    pluginBuild.onLoad({filter: /.*/, namespace: 'cluster-only'}, (args) => ({
      contents: `throw new Error(${JSON.stringify(`internal error: ${args.path} is not in the local check's bundle`)})`,
      loader: 'js',
    }))
  },
}
// bin/run.js compiles this bundle with V8's code cache from the build (scripts/code-cache.cjs), and Node 20's V8 keeps
// the build's dynamic-import set-up in that cache: an import() written in the bundle would fail with
// ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING. So the bundle holds none: a package imported dynamically is required when
// first used (the same file: our lazy packages' `node` export is their CommonJS build), and oclif's imports of a
// command, hook or tsx by file URL (never made on the way to a local check) go through a one-line module compiled
// apart from the bundle (LOCAL_CHECK_FOOTER). The build fails if an import() is left (see below).
const LOCAL_CHECK_REQUIRED_PACKAGES = {yaml: './dist/index.js'}
const IMPORT_BY_URL = '__ebpfctlImportByUrl'
// A function declaration, hoisted: in the footer, it leaves the bundle's "use strict" prologue and line numbers alone.
// Module#_compile is how require() compiles a file, import() included (vm's own loader option prints an experimental
// warning); the bundle's filename keeps the referrer an import() in the bundle would have had.
const LOCAL_CHECK_FOOTER = `function ${IMPORT_BY_URL}(url){if(!${IMPORT_BY_URL}.compiled){const Module=require("node:module"),loader=new Module(__filename,module);loader._compile("module.exports = (url) => import(url)",__filename);${IMPORT_BY_URL}.compiled=loader.exports}return ${IMPORT_BY_URL}.compiled(url)}`
const LOCAL_CHECK_EDITS = [
  {
    file: /[/\\]@oclif[/\\]core[/\\]lib[/\\]module-loader\.js$/,
    from: 'await import((0, node_url_1.pathToFileURL)(filePath).href)',
    to: `await ${IMPORT_BY_URL}((0, node_url_1.pathToFileURL)(filePath).href)`,
    count: 3,
  },
  {file: /[/\\]@oclif[/\\]core[/\\]lib[/\\]config[/\\]ts-path\.js$/, from: 'await import(href)', to: `await ${IMPORT_BY_URL}(href)`},
]
const localCheckPackages = {
  name: 'local-check-packages',
  setup(pluginBuild) {
    pluginBuild.onResolve({filter: /.*/, namespace: 'package-require'}, (args) => ({path: args.path, external: true}))
    pluginBuild.onLoad({filter: /.*/, namespace: 'package-require'}, (args) => {
      // The file Node's ES-module loader would import, so that a require() of it runs the very same code.
      const required = join(root, 'node_modules', args.path, LOCAL_CHECK_REQUIRED_PACKAGES[args.path])
      const pjson = JSON.parse(readFileSync(join(root, 'node_modules', args.path, 'package.json'), 'utf8'))
      if (join(root, 'node_modules', args.path, pjson.exports?.['.']?.node ?? '') !== required) {
        throw new Error(`${args.path}: its node export is no longer ${LOCAL_CHECK_REQUIRED_PACKAGES[args.path]}; revisit scripts/bundle.mjs`)
      }
      return {contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js', resolveDir: root}
    })
  },
}
await build({
  ...commonOptions,
  entryPoints: [join(root, 'src', 'check-entry.ts')],
  outfile: join(root, 'dist', 'chunks', 'check-local.cjs'),
  format: 'cjs',
  footer: {js: LOCAL_CHECK_FOOTER},
  plugins: [localCheckImports, localCheckPackages, realPackages, lazyInOclif, oclifEdits, editsPlugin('local-check-edits', LOCAL_CHECK_EDITS)],
})
{
  // Every import( left in the bundle, outside a string (oclif's error message says "import()"): only the footer's.
  const code = readFileSync(join(root, 'dist', 'chunks', 'check-local.cjs'), 'utf8')
  const imports = code.match(/(?<![\w$."'`])import\(/g) ?? []
  if (imports.length !== 1) throw new Error(`dist/chunks/check-local.cjs: ${imports.length - 1} dynamic import() besides the footer's; see LOCAL_CHECK_EDITS`)
  const nonAscii = code.search(/[^\x00-\x7f]/)
  if (nonAscii !== -1) {
    throw new Error(`dist/chunks/check-local.cjs: a character above U+007F at ${nonAscii} (${JSON.stringify(code.slice(nonAscii - 40, nonAscii + 10))}) makes V8 hold the bundle as a two-byte string; escape it with an edit (OCLIF_EDITS)`)
  }
}

// The lazily loaded packages, one CommonJS file each, from the very file oclif would have loaded.
for (const [name, path] of lazyPackageFiles) {
  await build({
    absWorkingDir: root,
    stdin: {contents: `module.exports = require(${JSON.stringify(path)})`, resolveDir: root, loader: 'js'},
    outfile: join(root, 'dist', 'chunks', 'lazy', `${name}.cjs`),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'warning',
  })
}
// `require("./lazy/NAME.cjs")` resolves against the file it is in: it must have landed in dist/chunks.
for (const file of readdirSync(join(root, 'dist'), {recursive: true})) {
  if (!String(file).endsWith('.js') || String(file).startsWith('chunks/') && !String(file).slice(7).includes('/')) continue
  if (readFileSync(join(root, 'dist', String(file)), 'utf8').includes('"./lazy/')) throw new Error(`dist/${file} requires ./lazy/ but is not in dist/chunks`)
}
