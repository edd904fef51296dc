import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {TABLE_FORMATS, outputFlag} from '../flags/output.js'
import {clusterRequested} from '../lib/kube/kubeconfig-path.js'
import {isDocumentFormat, machineDocument} from '../lib/output/terminal.js'

export default class Version extends BaseCommand<typeof Version> {
  static override description = `Client version; with a cluster, also the Kubernetes, Calico and tigera-operator versions.

Kubernetes from the API server's /version, Calico from ClusterInformation default (else the calico-node image tag),
the operator from the tigera-operator Deployment's image tag (a few GETs, no lists). Without a kubeconfig, or with
--client, only the client. Exit status: 0; 2 when the cluster cannot be read (the client version is printed first).`

  static override examples = [
    {description: 'Client and cluster versions.', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Only the client (no cluster access).', command: '<%= config.bin %> <%= command.id %> --client'},
    {description: 'As JSON.', command: '<%= config.bin %> <%= command.id %> -o json'},
  ]

  static override flags = {
    client: Flags.boolean({description: 'Only the client version; do not contact the cluster.'}),
    output: outputFlag(TABLE_FORMATS, 'Output format: table (lines; wide is the same), json, yaml.'),
  }

  async run(): Promise<void> {
    const {flags, config} = this
    const client = {version: config.version, platform: `${config.platform}-${config.arch}`, node: process.version}
    const withCluster = !flags.client && clusterRequested(flags)
    const document = isDocumentFormat(flags.output) ? flags.output : undefined
    if (!document) this.out(`Client:     ${config.bin} ${client.version} (${client.platform}, node ${client.node})`)
    if (!withCluster) {
      if (document) this.outDocument(await machineDocument(document, {apiVersion: 'ebpfctl/v1', kind: 'Version', client}))
      return
    }
    const [kube, {clusterVersions}] = await Promise.all([this.connectCluster(), import('../lib/kube/versions.js')])
    try {
      const cluster = await clusterVersions(kube)
      if (document) {
        this.outDocument(await machineDocument(document, {apiVersion: 'ebpfctl/v1', kind: 'Version', client, cluster}))
        return
      }
      this.out(`Server:     ${cluster.server}${kube.contextName ? ` (context ${kube.contextName})` : ''}`)
      this.out(`Kubernetes: ${cluster.kubernetes ?? 'unknown'}`)
      this.out(`Calico:     ${cluster.calico ? `${cluster.calico} (${cluster.calicoSource})` : 'not found'}`)
      this.out(`Operator:   ${cluster.operator ?? 'none (no tigera-operator Deployment in tigera-operator)'}`)
    } finally {
      kube.close()
    }
  }
}
