import {describe, expect, it} from 'vitest'

import {netAttachments, tcxLinks} from '../../../src/lib/dataplane/leftovers.js'

describe('tcx leftovers through `bpftool -j -f link show`', () => {
  it('bpftool < 7.3 (Debian 7.1): the link type is a number and the device is not decoded', () => {
    // As printed by bpftool v7.1.0 on kernel 6.18 for a pinned tcx link (seen in this repo's rig test).
    const doc = [{id: 91, type: 11, prog_id: 1429, pinned: ['/sys/fs/bpf/l1']}, {id: 3, type: 'cgroup', prog_id: 7}]
    expect(tcxLinks(doc)).toEqual([{linkId: 91, progId: 1429, where: undefined, hook: undefined, pinned: ['/sys/fs/bpf/l1']}])
  })

  it('bpftool ≥ 7.3: type "tcx" with devname and attach_type; a link detached from its device (ifindex 0) is not attached', () => {
    const doc = [
      {id: 5, type: 'tcx', prog_id: 40, ifindex: 2, devname: 'eth0', attach_type: 'tcx_ingress'},
      {id: 6, type: 'tcx', prog_id: 41, ifindex: 0, attach_type: 'tcx_egress'},
      {id: 7, type: 'tcx', prog_id: 42, ifindex: 9, attach_type: 'tcx_egress'},
    ]
    expect(tcxLinks(doc)).toEqual([
      {linkId: 5, progId: 40, where: 'eth0', hook: 'ingress', pinned: []},
      {linkId: 7, progId: 42, where: 'ifindex 9', hook: 'egress', pinned: []},
    ])
  })

  it('hostile or odd output is skipped, never thrown', () => {
    expect(tcxLinks(null)).toEqual([])
    expect(tcxLinks({id: 1})).toEqual([])
    expect(tcxLinks([1, 'x', null, {type: 11}, {type: 11, id: '1', prog_id: 2}, {type: 11, id: 1, prog_id: 2, pinned: [3, '/p']}])).toEqual([
      {linkId: 1, progId: 2, where: undefined, hook: undefined, pinned: ['/p']},
    ])
  })

  it('`net show` of bpftool ≥ 7.3 lists tcx under tc with kind tcx/ingress', () => {
    const doc = [{xdp: [], tc: [{devname: 'eth0', ifindex: 2, kind: 'tcx/ingress', name: 'cali_tc_preambl', prog_id: 40, link_id: 5}]}]
    expect(netAttachments(doc)).toEqual([{kind: 'tcx', where: 'eth0', hook: 'ingress', progId: 40, name: 'cali_tc_preambl'}])
  })
})

describe('remedies built from node output', () => {
  it('quote hostile device names and pin paths, so the printed command cannot become another one', async () => {
    const {findCalicoLeftovers} = await import('../../../src/lib/dataplane/leftovers.js')
    const outputs: Record<string, unknown> = {
      'net show': [{tc: [{devname: 'eth0;reboot', kind: 'clsact/ingress', name: 'x', id: 7}]}],
      'cgroup tree': [],
      'prog show': [{id: 7, name: 'cali_tc_preambl'}, {id: 9, name: 'cali_tcx'}],
      '-f link show': [{id: 3, type: 11, prog_id: 9, pinned: ['/sys/fs/bpf/a b;rm -rf ~']}],
    }
    const runner = {
      via: 'ssh' as const,
      run: async (_node: unknown, argv: string[]) => ({exitCode: 0, stdout: JSON.stringify(outputs[argv.slice(2).join(' ')]), stderr: ''}),
      close: async () => {},
    }
    const found = await findCalicoLeftovers(runner as any, {name: 'n1'} as any, {timeoutMs: 1000, maxBytes: 1 << 20})
    expect(found.map((l) => l.remedy)).toEqual([
      "tc filter del dev 'eth0;reboot' ingress pref P (P: the pref of id 7 in `tc filter show dev 'eth0;reboot' ingress`)",
      "bpftool link detach id 3 && rm '/sys/fs/bpf/a b;rm -rf ~'",
    ])
  })
})
