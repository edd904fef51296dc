/** Running commands on cluster nodes: transports (ssh, exec, local), fan-out, and the node probe. */
export * from './types.js'
export {shellJoin, shellQuote} from './quote.js'
export {KnownHosts, fingerprint, hostToken, parseKnownHosts} from './known-hosts.js'
export {
  type AddressSource,
  type SshDestination,
  type SshRunnerOptions,
  SshRunner,
  parseHostOverrides,
  parseHostPort,
  remoteCommand,
} from './ssh.js'
export {type ExecKubeClient, type ExecRunnerOptions, ExecRunner, mapPodsToNodes} from './exec.js'
export {type LocalRunnerOptions, LocalRunner} from './local.js'
export {type FanoutOptions, type NodeOutcome, runOnNodes} from './fanout.js'
export {type MountEntry, type NodeFacts, parseKernelConfig, parseMounts} from './facts.js'
export {PROBE_ARGV, PROBE_SCRIPT, parseProbeOutput, probeNode} from './probe.js'
