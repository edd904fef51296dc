// A Node built-in that @oclif/core requires at load time but uses only on some paths (child_process for `which`,
// readline for prompts, perf_hooks when OCLIF_PERFORMANCE is set). Compiling child_process alone pulls in net,
// dgram and streams, ~10% of a start-up; this proxy loads the real module on first property access instead.
'use strict'
module.exports = (name) => {
  let real
  const load = () => (real ??= require(name))
  return new Proxy(
    {},
    {
      get: (_target, key) => load()[key],
      has: (_target, key) => key in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_target, key) => {
        const descriptor = Object.getOwnPropertyDescriptor(load(), key)
        return descriptor && {...descriptor, configurable: true}
      },
    },
  )
}
