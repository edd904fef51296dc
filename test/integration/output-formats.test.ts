/**
 * One `-o` everywhere: every output format of every command that prints data, run through the built CLI, its stdout
 * read by a real parser (JSON.parse, the yaml package, an XML well-formedness check for JUnit). JSON and YAML must be
 * the same document, and stdout must hold nothing but it (progress and errors go to stderr).
 */
import {chmodSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseAllDocuments} from 'yaml'

import {type CliResult, cli} from '../support/cli.js'
import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'
import {type TestCluster, startCluster} from '../support/operator-sim.js'

const root = join(import.meta.dirname, '..', '..')
const fixtures = join(root, 'test', 'fixtures', 'bpf')
const FAST = ['--poll-interval', '10ms', '--retry-delay', '10ms', '--timeout', '20s']

/** Parses a YAML stream strictly: exactly one document, no errors or warnings, no anchors or aliases. */
function parseYamlDocument(text: string): unknown {
  const docs = parseAllDocuments(text)
  expect(Array.isArray(docs) ? docs.length : -1, 'one YAML document').toBe(1)
  const doc = (docs as ReturnType<typeof parseAllDocuments> & unknown[])[0] as {errors: unknown[]; warnings: unknown[]; toJS(): unknown}
  expect(doc.errors).toEqual([])
  expect(doc.warnings).toEqual([])
  expect(text).not.toMatch(/^\s*(?:- )?[\w"-]*:? *[&*][A-Za-z0-9_-]+\s*$/m) // no anchor/alias nodes
  return doc.toJS()
}

/** Values that differ between two runs of the same command (timestamps, durations) are masked. */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable)
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, /time|age|at$|ms$|duration|since|elapsed|renew|holder/i.test(k) ? '<masked>' : stable(v)]),
    )
  return value
}

async function formats(
  args: string[],
  formatsToRun: string[],
  okCodes = [0],
): Promise<Record<string, CliResult & {parsed?: unknown}>> {
  const out: Record<string, CliResult & {parsed?: unknown}> = {}
  for (const f of formatsToRun) {
    const r = await cli([...args, '-o', f])
    expect(okCodes, `${args.join(' ')} -o ${f}: ${r.stderr}`).toContain(r.code)
    let parsed: unknown
    if (f === 'json') parsed = JSON.parse(r.stdout)
    else if (f === 'yaml') parsed = parseYamlDocument(r.stdout)
    else if (f === 'junit') {
      expect(r.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites[\s\S]*<\/testsuites>\n$/)
    } else expect(r.stdout.trim().length, `${args.join(' ')} -o ${f} printed a table`).toBeGreaterThan(0)
    out[f] = {...r, parsed}
  }
  if (out.json && out.yaml) expect(stable(out.yaml.parsed)).toEqual(stable(out.json.parsed))
  return out
}

const ALL = ['table', 'wide', 'json', 'yaml']

let cluster: TestCluster
let agent: string
beforeAll(async () => {
  cluster = await startCluster('manifest')
  // A stand-in for Calico's agent (the --agent-cmd argv prefix): replays outputs recorded from real Calico.
  const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-agent-'))
  agent = join(dir, 'agent')
  writeFileSync(
    agent,
    `#!/bin/sh
case "$*" in
  *--json*) echo 'Error: unknown flag: --json' >&2; exit 1 ;;
  *"conntrack dump"*) exec cat '${join(fixtures, 'ct-1-calico-pr-8749.txt')}' ;;
  *"nat dump"*) exec cat '${join(fixtures, 'nat-5-calico-8255.txt')}' ;;
  *) echo "stand-in agent: nothing recorded for: $*" >&2; exit 2 ;;
esac
`,
  )
  chmodSync(agent, 0o755)
})
afterAll(async () => {
  await cluster?.close()
})

describe('-o table|wide|json|yaml on every command, parsed', {timeout: 300_000}, () => {
  it('check (this machine): table, wide, json, yaml, junit', async () => {
    const r = await formats(['check', '--local'], [...ALL, 'junit'], [0, 1])
    expect(r.json!.parsed).toMatchObject({apiVersion: 'ebpfctl/v1', kind: 'CheckReport'})
  })

  it('check (cluster): json and yaml are the same document', async () => {
    const r = await formats(['check', '--kubeconfig', cluster.kubeconfig], ['json', 'yaml'], [0, 1])
    expect(r.yaml!.parsed).toMatchObject({kind: 'CheckReport', target: {mode: 'cluster'}})
  })

  it('status: table, wide, json, yaml', async () => {
    const r = await formats(['status', '--kubeconfig', cluster.kubeconfig], ALL, [0, 1])
    expect(r.yaml!.parsed).toMatchObject({apiVersion: 'ebpfctl/v1', kind: 'Status', configured: expect.any(Object)})
  })

  it('enable --dry-run (client and server) and revert --dry-run: table, wide, json, yaml; nothing written', async () => {
    const enable = await formats(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run', ...FAST], ALL)
    expect(enable.json!.parsed).toMatchObject({kind: 'EnablePlan', dryRun: 'client', wouldRefuse: false})
    const steps = (enable.json!.parsed as {steps: {changes: unknown[]}[]}).steps
    expect(steps.some((s) => s.changes.length > 0)).toBe(true)
    expect(cluster.server.writes()).toEqual([])
    const server = await formats(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run=server', ...FAST], ['table', 'json', 'yaml'])
    expect(server.json!.parsed).toMatchObject({kind: 'EnablePlan', dryRun: 'server'})
    const revert = await formats(['revert', '--kubeconfig', cluster.kubeconfig, '--dry-run', ...FAST], ALL)
    expect(revert.yaml!.parsed).toMatchObject({kind: 'RevertPlan', dryRun: 'client'})
    expect(cluster.server.persistedWrites()).toEqual([])
  })

  it('nat dump and conntrack dump (and --stats): table, wide, json, yaml', async () => {
    const via = ['--via', 'local', '--source', 'agent', '--agent-cmd', agent]
    const nat = await formats(['nat', 'dump', ...via], ALL)
    expect(nat.yaml!.parsed).toMatchObject({kind: 'NatDump'})
    const ct = await formats(['conntrack', 'dump', ...via], ALL)
    expect(ct.yaml!.parsed).toMatchObject({kind: 'ConntrackDump', nodes: [{entries: expect.any(Array)}]})
    await formats(['conntrack', 'dump', '--stats', ...via], ALL)
  })
})

describe('-o table|wide|json|yaml on the fleet views and version, parsed', {timeout: 300_000}, () => {
  let server: FakeApiServer
  let kubeconfig: string
  beforeAll(async () => {
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes: 2})
    seedOperatorInstall(server.store, {installation: 'bpf'})
    // Each calico-node answers with outputs recorded from real Calico releases (test/fixtures/bpf).
    const recorded: Record<string, string> = {
      'calico-node -bpf counters dump --json': 'fmt-counters.json',
      'calico-node -bpf conntrack stats --json': 'fmt-ct-stats.json',
      'calico-node -bpf nat aff --json': 'fmt-nat-aff.json',
      'calico-node -bpf nat maglev --json': 'fmt-nat-maglev.json',
      'calico-node -bpf nat dump --json': 'doc-nat-dump.json',
    }
    server.setExecHandler((req) => {
      const cmd = req.command.join(' ')
      if (cmd === 'test -x /usr/bin/calico') return {exitCode: 1}
      const file = recorded[cmd]
      return file ? {stdout: readFileSync(join(fixtures, file), 'utf8'), exitCode: 0} : {stderr: `unexpected ${cmd}`, exitCode: 2}
    })
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-formats-')))
  })
  afterAll(async () => server?.close())

  it('conntrack stats, dataplane counters, nat aff, nat maglev: table, wide, json, yaml', async () => {
    const at = ['--all-nodes', '--kubeconfig', kubeconfig]
    const kinds: [string[], string][] = [
      [['conntrack', 'stats'], 'ConntrackStats'],
      [['dataplane', 'counters'], 'DataplaneCounters'],
      [['nat', 'aff'], 'NatAffinity'],
      [['nat', 'maglev'], 'NatMaglev'],
    ]
    for (const [command, kind] of kinds) {
      const r = await formats([...command, ...at], ALL)
      expect(r.yaml!.parsed, command.join(' ')).toMatchObject({apiVersion: 'ebpfctl/v1', kind, nodes: [{node: 'node-1'}, {node: 'node-2'}]})
      for (const f of ALL) expect(r[f]!.stderr, `${command.join(' ')} -o ${f}`).toBe('')
    }
  })

  it('version (client and cluster): table, wide, json, yaml', async () => {
    const client = await formats(['version', '--client'], ALL)
    expect(client.yaml!.parsed).toMatchObject({apiVersion: 'ebpfctl/v1', kind: 'Version', client: {version: expect.any(String)}})
    const withCluster = await formats(['version', '--kubeconfig', kubeconfig], ALL)
    expect(withCluster.yaml!.parsed).toMatchObject({kind: 'Version', cluster: {kubernetes: expect.any(String)}})
  })
})
