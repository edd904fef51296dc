/**
 * The yaml package for dynamic import (`await import('../yaml.js')`): a bare `import('yaml')` stays external in the
 * bundle and loads yaml's ~70 files from node_modules, on the start-up path of every cluster command (kubeconfig),
 * while `check` also loads the copy bundled for api-endpoint's static import. Through this module both are one chunk.
 */
export {parse, stringify} from 'yaml'
