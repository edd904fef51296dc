// A stand-in for agnhost netexec inside a pod's network namespace (run with `ip netns exec`): /clientip answers the
// peer address it saw, /hostname its name, /dial?request=&protocol=http&host=&port=&tries= makes the request from
// this namespace and answers {"responses": [...]} or {"errors": [...]}, as agnhost does. It serves the same handler
// on TCP (the pod's port) and on a unix socket, which the test's fake API server uses as its pod proxy.
import {createServer, get} from 'node:http'
import {rmSync} from 'node:fs'

const [port, socketPath, hostname] = process.argv.slice(2)

function dial(q, res) {
  const url = `http://${q.get('host')}:${q.get('port')}/${q.get('request') ?? ''}`
  const send = (doc) => {
    res.writeHead(200, {'Content-Type': 'application/json'})
    res.end(JSON.stringify(doc))
  }
  const req = get(url, {agent: false, timeout: 1500}, (r) => {
    let body = ''
    r.on('data', (c) => (body += c))
    r.on('end', () => send({responses: [body]}))
  })
  req.on('timeout', () => req.destroy(new Error(`timeout dialing ${url}`)))
  req.on('error', (err) => send({errors: [`error dialing ${url}: ${err.message}`]}))
}

const handler = (req, res) => {
  const u = new URL(req.url, 'http://x')
  if (u.pathname === '/clientip') {
    res.writeHead(200, {'Content-Type': 'text/plain'})
    res.end(`${String(req.socket.remoteAddress).replace(/^::ffff:/, '')}:${req.socket.remotePort}`)
  } else if (u.pathname === '/hostname') res.end(hostname)
  else if (u.pathname === '/dial') dial(u.searchParams, res)
  else {
    res.writeHead(404)
    res.end('not found')
  }
}
const tcp = createServer(handler)
tcp.keepAliveTimeout = 1000
tcp.listen(Number(port), '0.0.0.0')
rmSync(socketPath, {force: true})
createServer(handler).listen(socketPath, () => process.stdout.write('ready\n'))
process.on('SIGTERM', () => process.exit(0))
