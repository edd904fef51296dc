// felix-sim: stands in for Felix inside the simulated calico-node pods of the e2e cluster. kwok serves every
// calico-node container's log from DIR/node-logs/calico-node.log (fixtures/kwok.yaml); this process rewrites that
// file the way a restarting Felix would whenever the effective bpfEnabled changes (FELIX_BPFENABLED on the
// calico-node DaemonSet wins over FelixConfiguration default, as in Felix). Loopback only; ends on SIGTERM.
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {request} from 'node:https'
import {join} from 'node:path'

const dir = process.argv[2]
if (!dir) throw new Error('usage: felix-sim.mjs DIR')
const server = new URL(readFileSync(join(dir, 'server'), 'utf8').trim())
if (server.hostname !== '127.0.0.1') throw new Error(`felix-sim: refusing non-loopback server ${server}`)
const tls = {
  ca: readFileSync(join(dir, 'pki/ca.crt')),
  cert: readFileSync(join(dir, 'pki/controllers.crt')),
  key: readFileSync(join(dir, 'pki/controllers.key')),
}
const logFile = join(dir, 'node-logs/calico-node.log')

function get(path) {
  return new Promise((resolve) => {
    const req = request({host: '127.0.0.1', port: server.port, path, method: 'GET', timeout: 2000, ...tls}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve(res.statusCode === 200 ? JSON.parse(body) : undefined))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
    req.end()
  })
}

async function effectiveBpf() {
  // kube-system in a manifest install, calico-system in an operator install.
  const ds =
    (await get('/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node')) ??
    (await get('/apis/apps/v1/namespaces/calico-system/daemonsets/calico-node'))
  const env = ds?.spec?.template?.spec?.containers?.find((c) => c.name === 'calico-node')?.env ?? []
  const fromEnv = env.find((e) => e.name === 'FELIX_BPFENABLED')?.value
  if (fromEnv !== undefined) return fromEnv.toLowerCase() === 'true'
  const fc = await get('/apis/crd.projectcalico.org/v1/felixconfigurations/default')
  return fc?.spec?.bpfEnabled === true
}

const stamp = () => new Date().toISOString().replace('T', ' ').replace('Z', '')
function writeLog(bpf) {
  const lines = [
    `${stamp()} [INFO][1] felix/daemon.go 365: Felix starting up GOMAXPROCS=2 builddate="" gitcommit="" version="v3.32.1"`,
    bpf
      ? `${stamp()} [INFO][1] felix/int_dataplane.go 712: BPF enabled, starting BPF endpoint manager and map manager.`
      : `${stamp()} [INFO][1] felix/int_dataplane.go 530: BPF dataplane is disabled, using iptables.`,
  ]
  // kwok serves log files in the CRI format the kubelet reads: "<RFC 3339 time> stdout F <line>".
  const cri = lines.map((l) => `${new Date().toISOString()} stdout F ${l}`)
  writeFileSync(`${logFile}.tmp`, cri.join('\n') + '\n')
  renameSync(`${logFile}.tmp`, logFile)
}

let last
process.on('SIGTERM', () => process.exit(0))
for (;;) {
  const bpf = await effectiveBpf().catch(() => undefined)
  if (bpf !== undefined && bpf !== last) {
    writeLog(bpf)
    last = bpf
  }
  await new Promise((r) => setTimeout(r, 200))
}
