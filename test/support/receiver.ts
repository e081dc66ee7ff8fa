/**
 * A real HTTP server on loopback that reads each request's whole body before handing it to the
 * test: the webhook receivers of the alert suites.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Called once a request's body has been read. */
export type ReceiverHandler = (req: IncomingMessage, body: string, res: ServerResponse) => void

/** Starts a receiver on 127.0.0.1 (a free port); `url` has no trailing slash. */
export async function startReceiver(
  handle: ReceiverHandler,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => handle(req, Buffer.concat(chunks).toString('utf8'), res))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}
