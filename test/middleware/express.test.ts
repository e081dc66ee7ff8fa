import type { AddressInfo } from 'node:net'
import express from 'express'
import { harvestGuard } from '../../src/middleware/express.ts'
import { adapterSuite, appRoutes } from './suite.ts'

adapterSuite('express', async (guard) => {
  const app = express()
  app.use(harvestGuard(guard))
  app.get('/api/items/:itemId/comments', (req, res) => {
    res.type('application/json').send(appRoutes.comments(req.params.itemId))
  })
  app.get('/gz/comments', (_req, res) => {
    res.set({ 'content-type': 'application/json', 'content-encoding': 'gzip' })
    res.send(appRoutes.gzipped())
  })
  app.get('/page', (_req, res) => {
    res.type('html').send(appRoutes.page())
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
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
