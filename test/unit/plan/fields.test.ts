import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {Resources} from '../../../src/lib/kube/resources.js'
import {classifyFelixLog} from '../../../src/lib/felix-log.js'
import {
  createProgress,
  fieldChange,
  getPath,
  inverseChange,
  patchBody,
  patchChange,
  renderChange,
} from '../../../src/lib/plan/index.js'
import {mergePatch, strategicMergePatch} from '../../support/fake-apiserver/patch.js'

describe('field changes and patch bodies', () => {
  it('reads plain paths and list elements by name', () => {
    const ds = {
      spec: {
        template: {spec: {containers: [{name: 'calico-node', env: [{name: 'FELIX_BPFENABLED', value: 'false'}]}]}},
      },
    }
    expect(
      getPath(ds, ['spec', 'template', 'spec', 'containers[calico-node]', 'env[FELIX_BPFENABLED]', 'value']),
    ).toEqual({present: true, value: 'false'})
    expect(getPath(ds, ['spec', 'nope'])).toEqual({present: false})
  })

  it('no change when the value is already there', () => {
    expect(fieldChange({spec: {a: 1}}, ['spec', 'a'], 1)).toBeUndefined()
  })

  it('adding under a missing map records the outermost missing map, so undo removes it whole', () => {
    const ch = fieldChange(
      {spec: {template: {metadata: {}}}},
      ['spec', 'template', 'metadata', 'annotations', 'x'],
      'v',
    )!
    expect(ch.path).toEqual(['spec', 'template', 'metadata', 'annotations'])
    expect(patchBody([ch], 'after')).toEqual({spec: {template: {metadata: {annotations: {x: 'v'}}}}})
    expect(patchBody([ch], 'before')).toEqual({spec: {template: {metadata: {annotations: null}}}})
  })

  it('strategic bodies for list elements merge by name', () => {
    const ds = {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'calico-node',
                image: 'i',
                env: [
                  {name: 'A', value: '1'},
                  {name: 'FELIX_BPFENABLED', value: 'false'},
                ],
              },
            ],
          },
        },
      },
    }
    const c = patchChange(
      {resource: Resources.daemonSets, namespace: 'kube-system', name: 'calico-node'},
      ds as never,
      [[['spec', 'template', 'spec', 'containers[calico-node]', 'env[FELIX_BPFENABLED]', 'value'], 'true']],
      'strategic',
    )!
    expect(c.body).toEqual({
      spec: {template: {spec: {containers: [{name: 'calico-node', env: [{name: 'FELIX_BPFENABLED', value: 'true'}]}]}}},
    })
    const after = strategicMergePatch(ds, c.body)
    expect(after.spec.template.spec.containers[0].env).toEqual([
      {name: 'A', value: '1'},
      {name: 'FELIX_BPFENABLED', value: 'true'},
    ])
    expect(strategicMergePatch(after, inverseChange(c).body)).toEqual(ds)
    expect(renderChange(c)).toContain('daemonsets.apps kube-system/calico-node (strategic patch)')
  })

  it('property: apply then undo (merge patch) restores the object exactly', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'non-calico')
    const obj = fc.dictionary(key, fc.oneof(fc.string(), fc.dictionary(key, fc.string(), {maxKeys: 3})), {maxKeys: 4})
    fc.assert(
      fc.property(
        obj,
        fc.array(fc.tuple(fc.array(key, {minLength: 1, maxLength: 2}), fc.oneof(fc.string(), fc.boolean())), {
          minLength: 1,
          maxLength: 3,
        }),
        (spec, sets) => {
          const start = {metadata: {name: 'x'}, spec}
          const paths = new Map(sets.map(([p, v]) => [p.join('.'), [['spec', ...p], v] as [string[], unknown]]))
          // Skip sets that write through a scalar (not a valid merge-patch target for these paths).
          const valid = [...paths.values()].filter(([p]) => {
            const parent = getPath(start, p.slice(0, -1))
            return !parent.present || (typeof parent.value === 'object' && parent.value !== null)
          })
          const prefixFree = valid.filter(
            ([p]) => !valid.some(([q]) => q !== p && q.length < p.length && q.every((s, i) => s === p[i])),
          )
          const change = patchChange({resource: Resources.felixConfigurations, name: 'x'}, start as never, prefixFree)
          if (!change) return
          const applied = mergePatch(start, change.body)
          for (const [p, v] of prefixFree) expect(getPath(applied, p)).toEqual({present: true, value: v})
          expect(mergePatch(applied, inverseChange(change).body)).toEqual(start)
        },
      ),
      {numRuns: 300},
    )
  })
})

describe('Felix log verdicts', () => {
  it('the last start wins', () => {
    expect(classifyFelixLog('Felix starting')).toBe('unknown')
    expect(classifyFelixLog('BPF enabled, starting BPF endpoint manager and map manager.')).toBe('bpf')
    expect(
      classifyFelixLog(
        'x BPF dataplane mode enabled but not supported by the kernel.  Disabling BPF mode. error=too old',
      ),
    ).toBe('fallen-back')
    expect(
      classifyFelixLog(
        'BPF dataplane mode enabled but not supported by the kernel.  Disabling BPF mode.\nBPF enabled, starting ' +
          'BPF endpoint manager and map manager.',
      ),
    ).toBe('bpf')
  })
})

describe('progress', () => {
  it('non-TTY: timestamped lines, one per change of state', () => {
    let out = ''
    const p = createProgress({write: (s) => void (out += s), isTTY: false}, () => new Date('2026-12-01T10:11:12Z'))
    p.start('rollout')
    p.update('1/3')
    p.update('1/3')
    p.done('3/3')
    expect(out).toBe('[10:11:12] rollout …\n[10:11:12] rollout: 1/3\n[10:11:12] rollout: 3/3\n')
  })

  it('TTY: one line rewritten in place', () => {
    let out = ''
    const p = createProgress({write: (s) => void (out += s), isTTY: true})
    p.start('rollout')
    p.update('1/3')
    p.done('done')
    expect(out).toBe('\r\x1b[2Krollout …\r\x1b[2Krollout … 1/3\r\x1b[2Krollout … done\n')
  })
})
