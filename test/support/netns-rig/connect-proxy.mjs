// Inside a node namespace (run with `ip netns exec`), where a konnectivity agent would run: an HTTP CONNECT proxy on a
// unix socket for kube-apiserver's egress selector (HTTPConnect over UDS). The API server's pod proxy then reaches the
// pods' addresses from this node, through the rig's routes. Only the rig's addresses (198.18.0.0/15) are dialled.
import {connect, createServer} from 'node:net'
import {rmSync} from 'node:fs'

const [socketPath] = process.argv.slice(2)
const HEAD_BYTES = 8192
const RIG = /^198\.(18|19)\.\d{1,3}\.\d{1,3}$/

createServer((c) => {
  let head = Buffer.alloc(0)
  const refuse = (status) => c.end(`HTTP/1.1 ${status}\r\n\r\n`)
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) {
      if (head.length > HEAD_BYTES) refuse('431 Request Header Fields Too Large')
      return
    }
    c.off('data', onData)
    const m = /^CONNECT ([0-9.]+):(\d{1,5}) HTTP\/1\.1\r\n/.exec(head.subarray(0, end + 2).toString('latin1'))
    if (!m || !RIG.test(m[1])) return refuse('403 Forbidden')
    const up = connect({host: m[1], port: Number(m[2])})
    up.once('connect', () => {
      c.write('HTTP/1.1 200 Connection established\r\n\r\n')
      const rest = head.subarray(end + 4)
      if (rest.length) up.write(rest)
      c.pipe(up).pipe(c)
    })
    up.once('error', () => (up.connecting ? refuse('502 Bad Gateway') : c.destroy()))
    c.on('error', () => up.destroy())
  }
  c.on('data', onData)
  c.on('error', () => {})
}).listen((rmSync(socketPath, {force: true}), socketPath), () => process.stdout.write('ready\n'))
process.on('SIGTERM', () => process.exit(0))
