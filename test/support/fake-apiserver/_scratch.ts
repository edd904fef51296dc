import {Store} from './store.js'
import {workloadControllers} from './controllers.js'
import {seedKubeadmBase, seedOperatorInstall, seedManifestInstall} from './scenarios.js'
for (const kind of ['operator', 'manifest']) {
  const s = new Store()
  for (const c of workloadControllers) s.addController(c)
  let t = Date.now()
  seedKubeadmBase(s, {nodes: 3})
  console.log('base', Date.now() - t); t = Date.now()
  if (kind === 'operator') seedOperatorInstall(s)
  else seedManifestInstall(s)
  console.log(kind, Date.now() - t)
  const pods = s.list('v1', 'Pod')
  console.log(pods.map((p: any) => `${p.metadata.namespace}/${p.metadata.name} ${p.spec.nodeName} ${p.status.phase}`).join('\n'))
  for (const ds of s.list('apps/v1', 'DaemonSet')) console.log(ds.metadata.name, JSON.stringify(ds.status))
  for (const d of s.list('apps/v1', 'Deployment')) console.log(d.metadata.name, JSON.stringify(d.status).slice(0, 150))
  console.log(JSON.stringify(s.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')))
  console.log(JSON.stringify(s.get('crd.projectcalico.org/v1', 'IPPool', 'default-ipv4-ippool')))
}
