import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    disableConsoleIntercept: true,
    // Tests never read the developer's kubeconfig: each one passes a generated file.
    env: {KUBECONFIG: '/nonexistent/ebpfctl-test-kubeconfig', NO_COLOR: '1'},
  },
})
