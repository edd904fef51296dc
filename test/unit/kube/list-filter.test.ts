/**
 * ManagedFieldsFilter: a list page with items[*].metadata.managedFields emptied, whatever the chunking, and nothing
 * else changed (other managedFields, look-alike strings and names, escapes, multi-byte UTF-8); invalid JSON stays
 * invalid. And the API client's list() returns items without them (the real apiserver sends ~2 KB per Node).
 */
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {HttpKubeClient} from '../../../src/lib/kube/client.js'
import {ManagedFieldsFilter, continueFromHead} from '../../../src/lib/kube/list-filter.js'
import {Resources} from '../../../src/lib/kube/resources.js'

/** The filter over `text` cut at `cuts` (byte offsets), parsed. */
function filtered(text: string, cuts: number[] = []): unknown {
  const bytes = Buffer.from(text)
  const f = new ManagedFieldsFilter()
  let from = 0
  for (const at of [...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b)) {
    f.write(bytes.subarray(from, at))
    from = at
  }
  f.write(bytes.subarray(from))
  return JSON.parse(f.end().toString('utf8'))
}

/** What the filter must give: the same document with each item's metadata.managedFields (an array) emptied. */
function expected(list: {items?: unknown}): unknown {
  const copy = structuredClone(list) as {items?: {metadata?: {managedFields?: unknown}}[]}
  if (Array.isArray(copy.items)) {
    for (const item of copy.items) {
      const m = item && typeof item === 'object' && !Array.isArray(item) ? item.metadata : undefined
      if (m && typeof m === 'object' && !Array.isArray(m) && Array.isArray(m.managedFields)) m.managedFields = []
    }
  }
  return copy
}

const kwokNode = (name: string) => ({
  metadata: {
    name,
    labels: {type: 'kwok', managedFields: 'a label named so'},
    annotations: {'kwok.x-k8s.io/node': 'fake', note: '"managedFields":[1,2]'},
    managedFields: [
      {
        manager: 'kwok',
        operation: 'Update',
        fieldsType: 'FieldsV1',
        fieldsV1: {'f:status': {'f:conditions': {'k:{"type":"Ready"}': {'.': {}, 'f:status': {}}}}},
        subresource: 'status',
      },
    ],
  },
  spec: {managedFields: ['not metadata: kept']},
  status: {nodeInfo: {kernelVersion: '6.8.0-45-generic', osImage: 'Ubuntu 24.04.1 LTS — ünïcødé ✓'}},
})

describe('ManagedFieldsFilter', () => {
  const page = {
    kind: 'NodeList',
    apiVersion: 'v1',
    metadata: {resourceVersion: '7', continue: 'abc', managedFields: ['list metadata: kept']},
    items: [kwokNode('a'), kwokNode('b\\"c'), kwokNode('ü'), {metadata: {name: 'nested'}, spec: {items: [kwokNode('inner')]}}],
    others: [kwokNode('not in items')],
  }
  const text = JSON.stringify(page)

  it('empties each item’s metadata.managedFields and nothing else', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const out = filtered(text) as any
    expect(out).toEqual(expected(page))
    expect(out.items.map((n: {metadata: {managedFields?: unknown}}) => n.metadata.managedFields)).toEqual([[], [], [], undefined])
    expect(out.others[0].metadata.managedFields).toHaveLength(1)
    expect(out.items[3].spec.items[0].metadata.managedFields).toHaveLength(1)
    expect(out.metadata.managedFields).toEqual(['list metadata: kept'])
    expect(out.items[0].spec.managedFields).toEqual(['not metadata: kept'])
    expect(out.items[1].metadata.labels.managedFields).toBe('a label named so')
    expect(out.items[1].metadata.name).toBe('b\\"c')
    expect(out.items[2].status.nodeInfo.osImage).toBe(kwokNode('').status.nodeInfo.osImage)
  })

  it('gives the same bytes-out whatever the chunking, down to one byte at a time', () => {
    const bytes = Buffer.byteLength(text)
    const want = expected(page)
    expect(filtered(text, Array.from({length: bytes}, (_, i) => i))).toEqual(want)
    fc.assert(fc.property(fc.array(fc.nat(bytes), {maxLength: 20}), (cuts) => {
      expect(filtered(text, cuts)).toEqual(want)
    }))
  })

  it('pretty-printed JSON (whitespace everywhere) too', () => {
    expect(filtered(JSON.stringify(page, null, 2))).toEqual(expected(page))
  })

  it('any JSON list: the expected document, at any chunking', () => {
    // Trees whose member names are often the ones on the path, so look-alikes at every other place are generated.
    const name = fc.oneof(fc.constantFrom('items', 'metadata', 'managedFields'), fc.string({maxLength: 3}))
    const {tree} = fc.letrec((tie) => ({
      tree: fc.oneof(
        {depthSize: 'small', withCrossShrink: true},
        fc.jsonValue({maxDepth: 0}),
        fc.array(tie('tree'), {maxLength: 3}),
        fc.dictionary(name, tie('tree'), {maxKeys: 4}),
      ),
    }))
    const item = fc.oneof(fc.dictionary(name, tree, {maxKeys: 4}), tree)
    const list = fc.oneof(
      fc.record({items: fc.array(item, {maxLength: 4}), rest: fc.dictionary(name, tree, {maxKeys: 3})}).map(({items, rest}) => ({...rest, items})),
      fc.dictionary(name, tree, {maxKeys: 4}),
    )
    fc.assert(
      fc.property(list, fc.array(fc.nat(2000), {maxLength: 8}), (doc, cuts) => {
        // Compared with what the text says (JSON.stringify writes -0 as 0).
        const text = JSON.stringify(doc)
        expect(filtered(text, cuts)).toEqual(expected(JSON.parse(text)))
      }),
      {numRuns: 500},
    )
  })

  it('a managedFields that is not an array, or a name spelled with an escape, is left alone', () => {
    const doc = {items: [{metadata: {managedFields: {a: [1]}}}, {metadata: {managedFields: null}}]}
    expect(filtered(JSON.stringify(doc))).toEqual(doc)
    expect(filtered('{"items":[{"metadata":{"managed\\u0046ields":[1,2]}}]}')).toEqual({items: [{metadata: {managedFields: [1, 2]}}]})
  })

  it('finds the head (the bytes before the top-level items) once, whatever the chunking, and its continue token', () => {
    const text = '{"kind":"NodeList","metadata":{"note":"\\"items\\":","continue":"tok"},"x":{"items":[]},"items":[{"metadata":{}}]}'
    for (const size of [1, 5, 1000]) {
      const heads: Buffer[] = []
      const f = new ManagedFieldsFilter((h) => heads.push(h))
      const bytes = Buffer.from(text)
      for (let i = 0; i < bytes.length; i += size) f.write(bytes.subarray(i, i + size))
      expect(heads.map((h) => h.toString())).toEqual([text.slice(0, text.lastIndexOf('"items"'))])
      expect(continueFromHead(heads[0]!)).toBe('tok')
    }
    expect(continueFromHead(Buffer.from('{"metadata":{"resourceVersion":"1"},'))).toBeUndefined()
    expect(continueFromHead(Buffer.from('{"metadata":{"continue":"a'))).toBeUndefined()
  })

  it('invalid JSON stays invalid (JSON.parse still judges the page)', () => {
    for (const bad of [text.slice(0, -1), text.slice(0, text.indexOf('"managedFields":[', 200) + 20), `${text}]`, '{"items":[{"metadata":{"managedFields":[1,]}}', '{"items":]']) {
      expect(() => filtered(bad)).toThrow(SyntaxError)
    }
  })
})

describe('HttpKubeClient.list', () => {
  it('returns items without metadata.managedFields (as the real apiserver sends them)', async () => {
    const body = JSON.stringify({kind: 'NodeList', apiVersion: 'v1', metadata: {resourceVersion: '1'}, items: [kwokNode('n1'), kwokNode('n2')]})
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json')
      // Sent in small pieces, so a managedFields value spans several chunks.
      const bytes = Buffer.from(body)
      for (let i = 0; i < bytes.length; i += 97) res.write(bytes.subarray(i, i + 97))
      res.end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const kube = new HttpKubeClient({
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      requestOptions: async () => ({headers: {}}),
      timeoutMs: 5000,
    })
    try {
      const nodes = await kube.list(Resources.nodes)
      expect(nodes.map((n) => n.metadata.name)).toEqual(['n1', 'n2'])
      expect(nodes.map((n) => (n.metadata as {managedFields?: unknown}).managedFields)).toEqual([[], []])
      expect(nodes[0]!.metadata.annotations).toEqual(kwokNode('n1').metadata.annotations)
    } finally {
      kube.close()
      server.close()
    }
  })

  it('asks for the next page as soon as a page’s head names its continue token, with at most two pages in flight', async () => {
    const events: string[] = []
    const waiters = new Map<string, () => void>()
    const happened = (e: string) => {
      events.push(e)
      waiters.get(e)?.()
    }
    /** Resolves when `e` has happened, or after 3 s (so the sequential client of old still finishes). */
    const after = (e: string) => new Promise<void>((r) => (events.includes(e) ? r() : (waiters.set(e, r), setTimeout(r, 3000))))
    const pages = ['p1', 'p2', 'p3']
    const server = createServer(async (req, res) => {
      const token = new URL(req.url!, 'http://x').searchParams.get('continue')
      const i = token ? pages.indexOf(token) : 0
      const name = pages[i]!
      happened(`${name} asked`)
      const next = pages[i + 1]
      res.setHeader('content-type', 'application/json')
      res.write(`{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"5"${next ? `,"continue":"${next}"` : ''}},"items":[`)
      res.write(JSON.stringify(kwokNode(`${name}-a`)))
      // The rest of this page only once the next page has been asked for (or 3 s have gone by).
      if (next) await after(`${next} asked`)
      res.end(`,${JSON.stringify(kwokNode(`${name}-b`))}]}`)
      happened(`${name} done`)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const kube = new HttpKubeClient({
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      requestOptions: async () => ({headers: {}}),
      timeoutMs: 20_000,
    })
    try {
      const t0 = Date.now()
      const nodes = await kube.list(Resources.nodes)
      expect(nodes.map((n) => n.metadata.name)).toEqual(['p1-a', 'p1-b', 'p2-a', 'p2-b', 'p3-a', 'p3-b'])
      // p2 is asked for while p1 still streams; p3 only after p1 is done (two in flight at most).
      expect(events.indexOf('p2 asked')).toBeLessThan(events.indexOf('p1 done'))
      expect(events.indexOf('p3 asked')).toBeGreaterThan(events.indexOf('p1 done'))
      expect(events.indexOf('p3 asked')).toBeLessThan(events.indexOf('p2 done'))
      expect(Date.now() - t0).toBeLessThan(3000)
    } finally {
      kube.close()
      server.close()
    }
  }, 20_000)
})
