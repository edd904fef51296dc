/** The krew manifest template: valid YAML once filled in, and naming the plugin bin this package ships. */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'

const root = join(import.meta.dirname, '..', '..')

describe('krew/calico-ebpf.yaml', () => {
  it('fills in to a krew Plugin whose bin is the package bin kubectl runs for `kubectl calico-ebpf`', () => {
    const template = readFileSync(join(root, 'krew', 'calico-ebpf.yaml'), 'utf8')
    const filled = template
      .replaceAll('{{VERSION}}', '0.1.0')
      .replaceAll('{{URL}}', 'https://example.invalid/ebpfctl-0.1.0.tar.gz')
      .replaceAll('{{SHA256}}', 'a'.repeat(64))
    expect(filled).not.toMatch(/\{\{/)
    const plugin = parse(filled)
    expect(plugin).toMatchObject({
      apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
      kind: 'Plugin',
      metadata: {name: 'calico-ebpf'},
      spec: {version: 'v0.1.0', shortDescription: expect.any(String)},
    })
    const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    // krew links the bin as kubectl-<name with - as _>; package.json installs the same name.
    const linked = `kubectl-${plugin.metadata.name.replaceAll('-', '_')}`
    expect(pjson.bin[linked]).toBe(`./${plugin.spec.platforms[0].bin}`)
    expect(existsSync(join(root, plugin.spec.platforms[0].bin))).toBe(true)
    expect(pjson.bin[`kubectl_complete-${plugin.metadata.name.replaceAll('-', '_')}`]).toBeDefined()
  })
})
