import Fastify from 'fastify'
import { harvestGuard } from '../../src/middleware/fastify.ts'
import { adapterSuite, appRoutes, commentsBody } from './suite.ts'

adapterSuite('fastify', async (guard) => {
  const app = Fastify()
  await app.register(harvestGuard, { guard })
  // An object reply: the plugin accounts it before serialisation.
  app.get<{ Params: { itemId: string } }>('/api/items/:itemId/comments', (req, reply) => {
    void reply.send(commentsBody(req.params.itemId))
  })
  app.get('/gz/comments', async (_req, reply) => {
    reply.header('content-type', 'application/json').header('content-encoding', 'gzip')
    return appRoutes.gzipped()
  })
  app.get('/page', async (_req, reply) => {
    reply.type('text/html; charset=utf-8')
    return appRoutes.page()
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url, close: () => app.close() }
})
