// Inside the client namespace (its own loopback): listen on 127.0.0.1:PORT and pipe each connection to a unix socket
// that the test process forwards to the fake API server on the host's loopback. Bytes only: TLS stays end to end.
import {connect, createServer} from 'node:net'

const [port, socketPath] = process.argv.slice(2)
createServer((c) => {
  const up = connect(socketPath)
  c.pipe(up).pipe(c)
  const end = () => {
    c.destroy()
    up.destroy()
  }
  c.on('error', end)
  up.on('error', end)
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'))
process.on('SIGTERM', () => process.exit(0))
