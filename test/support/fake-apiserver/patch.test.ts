import {describe, expect, it} from 'vitest'

import {PatchError, jsonPatch, mergePatch, strategicMergePatch} from './patch.js'
import {fieldMatcher, labelMatcher} from './selectors.js'
import {pruneAndDefault, validateAgainst} from './validation.js'

describe('fake-apiserver patch functions', () => {
  it('merge patch follows the RFC 7396 appendix examples', () => {
    const cases: [unknown, unknown, unknown][] = [
      [{a: 'b'}, {a: 'c'}, {a: 'c'}],
      [{a: 'b'}, {b: 'c'}, {a: 'b', b: 'c'}],
      [{a: 'b'}, {a: null}, {}],
      [{a: 'b', b: 'c'}, {a: null}, {b: 'c'}],
      [{a: ['b']}, {a: 'c'}, {a: 'c'}],
      [{a: 'c'}, {a: ['b']}, {a: ['b']}],
      [{a: {b: 'c'}}, {a: {b: 'd', c: null}}, {a: {b: 'd'}}],
      [{a: [{b: 'c'}]}, {a: [1]}, {a: [1]}],
      [
        ['a', 'b'],
        ['c', 'd'],
        ['c', 'd'],
      ],
      [{a: 'b'}, ['c'], ['c']],
      [{a: 'foo'}, null, null],
      [{a: 'foo'}, 'bar', 'bar'],
      [{e: null}, {a: 1}, {e: null, a: 1}],
      [[1, 2], {a: 'b', c: null}, {a: 'b'}],
      [{}, {a: {bb: {ccc: null}}}, {a: {bb: {}}}],
    ]
    for (const [target, patch, result] of cases) expect(mergePatch(target, patch)).toEqual(result)
  })

  it('JSON patch follows RFC 6902 and does not mutate its input', () => {
    const doc = {foo: ['bar', 'baz'], q: {x: 1}}
    const out = jsonPatch(doc, [
      {op: 'add', path: '/foo/1', value: 'qux'},
      {op: 'remove', path: '/q/x'},
      {op: 'add', path: '/a~1b', value: 1},
      {op: 'replace', path: '/foo/0', value: 'BAR'},
      {op: 'move', from: '/foo/2', path: '/moved'},
      {op: 'copy', from: '/moved', path: '/copied'},
      {op: 'test', path: '/copied', value: 'baz'},
    ])
    expect(out).toEqual({foo: ['BAR', 'qux'], q: {}, 'a/b': 1, moved: 'baz', copied: 'baz'})
    expect(doc).toEqual({foo: ['bar', 'baz'], q: {x: 1}})
    expect(() => jsonPatch(doc, [{op: 'test', path: '/foo/0', value: 'nope'}])).toThrow(PatchError)
    expect(() => jsonPatch(doc, [{op: 'remove', path: '/nope'}])).toThrow(PatchError)
    expect(() => jsonPatch(doc, [{op: 'replace', path: '/nope', value: 1}])).toThrow(PatchError)
    expect(() => jsonPatch(doc, [{op: 'add', path: '/foo/9', value: 1}])).toThrow(PatchError)
    expect(() => jsonPatch(doc, {op: 'add'})).toThrow(expect.objectContaining({code: 400}))
  })

  it('strategic merge patch: merge keys, atomic lists, directives', () => {
    const target = {
      spec: {
        containers: [
          {name: 'a', image: 'a:1', volumeMounts: [{name: 'v', mountPath: '/v'}], ports: [{containerPort: 80}]},
        ],
        tolerations: [{operator: 'Exists'}],
        nodeSelector: {x: '1'},
      },
      metadata: {finalizers: ['f1']},
    }
    const out = strategicMergePatch(structuredClone(target), {
      spec: {
        containers: [
          {name: 'a', volumeMounts: [{name: 'w', mountPath: '/w'}], ports: [{containerPort: 80, name: 'http'}]},
        ],
        tolerations: [{key: 'k', operator: 'Exists'}],
        nodeSelector: {x: null, y: '2'},
      },
      metadata: {finalizers: ['f2', 'f1']},
    })
    expect(out.spec.containers[0]).toEqual({
      name: 'a',
      image: 'a:1',
      volumeMounts: [
        {name: 'v', mountPath: '/v'},
        {name: 'w', mountPath: '/w'},
      ],
      ports: [{containerPort: 80, name: 'http'}],
    })
    expect(out.spec.tolerations).toEqual([{key: 'k', operator: 'Exists'}])
    expect(out.spec.nodeSelector).toEqual({y: '2'})
    expect(out.metadata.finalizers).toEqual(['f1', 'f2'])
    const replaced = strategicMergePatch(structuredClone(target), {spec: {nodeSelector: {$patch: 'replace', z: '3'}}})
    expect(replaced.spec.nodeSelector).toEqual({z: '3'})
    const svc = strategicMergePatch(
      {spec: {ports: [{port: 443, targetPort: 6443}]}},
      {spec: {ports: [{port: 443, name: 'https'}]}},
    )
    expect(svc.spec.ports).toEqual([{port: 443, targetPort: 6443, name: 'https'}])
  })
})

describe('fake-apiserver selectors and schema helpers', () => {
  it('label and field selectors', () => {
    const o = {
      metadata: {name: 'n', namespace: 'ns', labels: {a: '1', b: '2'}},
      spec: {nodeName: 'x'},
      status: {phase: 'Running'},
    }
    expect(labelMatcher('a=1,b in (2,3),!c')!(o)).toBe(true)
    expect(labelMatcher('a!=1')!(o)).toBe(false)
    expect(labelMatcher('c!=1')!(o)).toBe(true)
    expect(labelMatcher('b notin (2)')!(o)).toBe(false)
    expect(fieldMatcher('spec.nodeName=x,status.phase!=Pending', 'pods')!(o)).toBe(true)
    expect(fieldMatcher('metadata.name==m', 'nodes')!(o)).toBe(false)
    expect(() => fieldMatcher('spec.nodeName=x', 'nodes')).toThrow()
  })

  it('prunes, defaults and drops nulls like a structural schema', () => {
    const schema = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            mode: {type: 'string', default: 'Auto'},
            port: {'x-kubernetes-int-or-string': true},
            free: {type: 'object', 'x-kubernetes-preserve-unknown-fields': true},
            n: {type: 'integer', maximum: 10},
          },
        },
      },
    }
    const obj: any = {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: {name: 'a'},
      spec: {bogus: 1, port: null, free: {any: {thing: 1}}, n: 3},
      top: 1,
    }
    pruneAndDefault(obj, schema, true)
    expect(obj).toEqual({
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: {name: 'a'},
      spec: {free: {any: {thing: 1}}, n: 3, mode: 'Auto'},
    })
    expect(validateAgainst('t1', schema, {spec: {port: 'http'}})).toEqual([])
    expect(validateAgainst('t1', schema, {spec: {port: 8080}})).toEqual([])
    expect(validateAgainst('t1', schema, {spec: {port: true}}).length).toBeGreaterThan(0)
    expect(validateAgainst('t1', schema, {spec: {n: 11}})).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'spec.n',
        message: 'Invalid value: 11: spec.n in body should be less than or equal to 10',
      },
    ])
  })
})
