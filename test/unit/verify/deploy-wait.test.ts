/**
 * verify's waits say what they see, with the elapsed time and the bound (issue 11: "… 2/3 nodes BPF active (41s of
 * 5m)"), once per change and not once per poll; a wait that ends names what it last saw.
 */
import {describe, expect, it} from 'vitest'

import {deployWorkload} from '../../../src/lib/verify/deploy.js'
import {KubeStub} from '../../support/kube-stub.js'

describe('deployWorkload waits', () => {
  it('pods that never become Ready: progress with the clock, once per change, then a timeout naming the count', async () => {
    // KubeStub runs no Deployment controller: the Deployment never gets a pod.
    const kube = new KubeStub()
    const lines: string[] = []
    const err = await deployWorkload(
      kube,
      {image: 'registry.k8s.io/e2e-test-images/agnhost:2.53', replicas: 3, localService: false},
      {timeoutMs: 1500, pollMs: 50, signal: new AbortController().signal, progress: (l) => lines.push(l)},
    ).catch((e: Error) => e)
    expect((err as Error).message).toBe('timed out after 1s waiting for 3 verify pods to be Ready (0/3 Ready)')
    const waits = lines.filter((l) => l.startsWith('waiting for 3 verify pods'))
    // ~30 polls, one line for the start and one for the state (it never changed, and 10 s did not pass).
    expect(waits).toEqual(['waiting for 3 verify pods to be Ready …', 'waiting for 3 verify pods to be Ready: 0/3 Ready (0s of 1s)'])
  })
})
