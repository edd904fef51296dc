// Makes a module that @oclif/core requires at load time, but uses only on some paths, load on first use instead:
// built-ins such as child_process (which alone pulls in net, dgram and streams) and packages such as tinyglobby
// (command discovery, unused with a manifest) and ejs (help templates). Together ~15% of a start-up.
'use strict'
module.exports = (loadModule) => {
  let real
  const load = () => (real ??= loadModule())
  return new Proxy(
    {},
    {
      get: (_target, key) => {
        // TypeScript's __importDefault asks for __esModule at require time; answering it here keeps the load lazy,
        // and `default` is then the whole CommonJS module, as __importDefault would have made it.
        if (key === '__esModule') return true
        const mod = load()
        return key === 'default' && !mod.__esModule ? mod : mod[key]
      },
      has: (_target, key) => key in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_target, key) => {
        const descriptor = Object.getOwnPropertyDescriptor(load(), key)
        return descriptor && {...descriptor, configurable: true}
      },
    },
  )
}
