import type { Engine, Event, PendingRequest, Principal } from '../core/index.ts'
import { createGuard, type GuardEngine, type GuardVerdict } from '../http/index.ts'
import { createReverseProxy } from '../proxy/index.ts'
import type { LabSetup } from './setup.ts'
import type { ShopState } from './shop/handlers.ts'
import { startShopServer } from './shop/server.ts'

/**
 * The demo shop behind the reverse proxy of `harvestguard proxy`, both on loopback: the shop
 * knows nothing of HarvestGuard, the proxy judges each request before forwarding it and accounts
 * what the response disclosed, masking or refusing as the engine says. Used by `npm start` and
 * by the over-HTTP lab runs, so both measure the deployment an operator would run.
 */

/** Options of {@link startProxiedShop}. */
export interface ProxiedShopOptions {
  readonly setup: LabSetup
  readonly state: ShopState
  readonly engine: Engine
  /** The engine's clock (the simulation's compressed time). @default Date.now */
  readonly clock?: () => number
  /** Sees every verdict the guard asks for, before the request is forwarded or refused. */
  readonly onJudge?: (principals: readonly Principal[], verdict: GuardVerdict) => void
  /** Sees every Event the guard accounts, after its response went out. */
  readonly onEvent?: (event: Event) => void
}

/** A running proxied shop. */
export interface ProxiedShop {
  /** The proxy's URL: where clients go. */
  readonly url: string
  /** The shop's own URL (behind the proxy). */
  readonly shopUrl: string
  close(): Promise<void>
}

/** Starts the shop and the proxy in front of it, each on an ephemeral loopback port. */
export async function startProxiedShop(options: ProxiedShopOptions): Promise<ProxiedShop> {
  const { setup, state, engine } = options
  const onJudge = options.onJudge
  const onEvent = options.onEvent
  const shop = await startShopServer(state)
  const watched: GuardEngine = {
    judge(principals: readonly Principal[], timeMs: number, pending?: PendingRequest) {
      const verdict = engine.judge(principals, timeMs, pending)
      onJudge?.(principals, verdict)
      return verdict
    },
    observe(event: Event) {
      onEvent?.(event)
      return engine.observe(event)
    },
  }
  const http = setup.config.http
  const guard = createGuard({
    engine: watched,
    keyer: setup.keyer,
    catalogue: setup.catalogue,
    // The shop's session store names the account behind a `sid` cookie: the lookup resolver an
    // application embedding the proxy configures.
    account: { kind: 'lookup', cookie: 'sid', lookup: (sid) => state.session(sid)?.username },
    sessionCookies: http.sessionCookies,
    apiKey: http.apiKey,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  })
  const proxy = createReverseProxy({ upstream: shop.url, guard })
  let url: string
  try {
    url = await proxy.listen('127.0.0.1', 0)
  } catch (error) {
    await shop.close()
    throw error
  }
  return {
    url,
    shopUrl: shop.url,
    async close() {
      try {
        await proxy.close()
      } finally {
        await shop.close()
      }
    },
  }
}
