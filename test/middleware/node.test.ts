import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { harvestGuard } from '../../src/middleware/node.ts'
import { adapterSuite, appRoutes } from './suite.ts'

adapterSuite('node', async (guard) => {
  const listener = harvestGuard(guard)((req, res) => {
    const url = req.url ?? '/'
    const m = /^\/api\/items\/(\w+)\/comments/.exec(url)
    if (m !== null) {
      res.setHeader('content-type', 'application/json')
      res.end(appRoutes.comments(m[1]!))
    } else if (url.startsWith('/gz/')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      // Written in two chunks to exercise holding across writes.
      const gz = appRoutes.gzipped()
      res.write(gz.subarray(0, 10))
      res.end(gz.subarray(10))
    } else if (url === '/page') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(appRoutes.page())
    } else {
      res.statusCode = 404
      res.end()
    }
  })
  const server = createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
})
