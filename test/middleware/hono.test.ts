import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { harvestGuard } from '../../src/middleware/hono.ts'
import { adapterSuite, appRoutes } from './suite.ts'

adapterSuite('hono', async (guard) => {
  const app = new Hono()
  app.use(harvestGuard({ guard }))
  app.get('/api/items/:itemId/comments', (c) =>
    c.body(appRoutes.comments(c.req.param('itemId')), 200, { 'content-type': 'application/json' }),
  )
  app.get('/gz/comments', (c) =>
    c.body(new Uint8Array(appRoutes.gzipped()), 200, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    }),
  )
  app.get('/page', (c) => c.html(appRoutes.page()))
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        ;(server as unknown as { closeAllConnections(): void }).closeAllConnections()
        server.close(() => resolve())
      }),
  }
})
