#!/usr/bin/env node
// `ebpfctl --version` short-circuit: the same line oclif prints (config.userAgent), without loading @oclif/core
// (~60% of the start-up time). Anything else goes through oclif.
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const {readFileSync} = await import('node:fs')
  const {arch, platform} = await import('node:os')
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
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
  const {execute} = await import('../dist/cli.js')
  await execute({dir: import.meta.url})
}
