import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {defineConfig} from 'vitest/config'

// Tests never read the developer's kubeconfig or ~/.ssh: no KUBECONFIG, and HOME is an empty directory. Each test
// that wants a cluster passes a generated file.
const emptyHome = mkdtempSync(join(tmpdir(), 'ebpfctl-test-home-'))

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    disableConsoleIntercept: true,
    env: {KUBECONFIG: '', HOME: emptyHome, NO_COLOR: '1'},
  },
})
