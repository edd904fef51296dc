import {describe, expect, it} from 'vitest'

import {calicoInfo} from '../../../src/lib/checks/calico-info.js'
import {bpfEnabledInCluster} from '../../../src/lib/checks/util.js'
import {type InstallInfo, parseFelixBool} from '../../../src/lib/kube/cluster.js'

describe('parseFelixBool: FELIX_* booleans as Felix reads them', () => {
  it.each([
    ['true', true], ['TRUE', true], ['1', true], ['yes', true], ['y', true], ['t', true],
    ['false', false], ['0', false], ['no', false], ['n', false], ['F', false],
    ['on', undefined], ['', undefined], ['maybe', undefined],
  ])('%j → %s', (raw, expected) => {
    expect(parseFelixBool(raw)).toBe(expected)
  })

  it('check and status read FELIX_BPFENABLED=1 the same way (on)', () => {
    const install = {
      type: 'manifest',
      calicoNamespace: 'kube-system',
      supportsBootstrap: false,
      felixBpfEnabledEnv: {container: 'calico-node', value: '1', enabled: parseFelixBool('1')},
    } as InstallInfo
    expect(bpfEnabledInCluster({cluster: {state: {} as never, install}} as never)).toBe(true)
    expect(calicoInfo({} as never, install).bpfEnabled).toBe(true)
  })

  it('the report: a FelixConfiguration default without bpfEnabled is false (unset, Felix default), not null', () => {
    const base = {type: 'manifest', calicoNamespace: 'kube-system', supportsBootstrap: false} as InstallInfo
    const fc = (spec: Record<string, unknown>) => ({...base, felixDefault: {metadata: {name: 'default'}, spec}}) as InstallInfo
    expect(calicoInfo({} as never, fc({bpfLogLevel: ''}))).toMatchObject({bpfEnabled: false, bpfEnabledSource: 'default'})
    expect(calicoInfo({} as never, fc({bpfEnabled: true}))).toMatchObject({bpfEnabled: true, bpfEnabledSource: 'felixconfiguration'})
    expect(calicoInfo({} as never, base)).toMatchObject({bpfEnabled: null, bpfEnabledSource: null})
  })
})
