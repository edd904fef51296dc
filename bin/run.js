#!/usr/bin/env node
// `ebpfctl --version` (or -v) short-circuit: the same line oclif prints (config.userAgent), without loading @oclif/core
// (~60% of the start-up time). Anything else goes through oclif.
if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-v')) {
  const {readFileSync} = await import('node:fs')
  const {arch, platform} = await import('node:os')
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  const cpu = arch() === 'ia32' ? 'x86' : arch()
  process.stdout.write(`${pjson.name}/${pjson.version} ${platform()}-${cpu} node-${process.version}\n`)
} else {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
