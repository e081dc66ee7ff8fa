// The route the inline benchmarks serve: a Fastify app returning ~2 KB of JSON with 14 personal
// records (comments by 14 people), a new page per request so distinct records keep growing as
// under a harvester, and the catalogue that tells the guard where the records are.
import Fastify, { type FastifyInstance } from 'fastify'

export const COMMENTS_PATH = '/api/items/42/comments'

/** Guard config for the route (policy in shadow mode: the one load client is never blocked). */
export const COMMENTS_CONFIG = `
secret: bench-secret-0123456789abcdef
policy:
  shadow: true
routes:
  - route: GET /api/items/:itemId/comments
    resource: api
    exposes:
      - each: '$.comments[*]'
        subject: 'user:{.userId}'
        fields: { id: '.userId', name: '.nickname', phone: '.phone', comment: '.text' }
`

/** About 2 KB at the default 14: `count` comments by as many people (id, nickname, phone, text). */
export function commentsBody(itemId: string, page: number, count = 14): object {
  return {
    itemId,
    page,
    comments: Array.from({ length: count }, (_, i) => ({
      userId: 100_000 + page * count + i,
      nickname: `买家${page}-${i}`,
      phone: `139${String(page * count + i).padStart(8, '0')}`,
      text: `Good value, arrived quickly, would buy again (${i})`,
    })),
  }
}

let page = 0

/** A listening comments app; `setup` registers plugins or hooks before the route. */
export async function commentsApp(
  setup?: (app: FastifyInstance) => Promise<void> | void,
): Promise<{ app: FastifyInstance; url: string; served: () => number }> {
  const app = Fastify()
  if (setup !== undefined) await setup(app)
  let served = 0
  app.get<{ Params: { itemId: string } }>('/api/items/:itemId/comments', (req, reply) => {
    served++
    void reply.send(commentsBody(req.params.itemId, page++ % 5000))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, url: `http://127.0.0.1:${port}${COMMENTS_PATH}`, served: () => served }
}
