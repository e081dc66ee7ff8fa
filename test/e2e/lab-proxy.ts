// The lab's adversaries A1-A5 and benign populations B1-B6 in compressed real time over HTTP,
// each from its own 127.x.y.z source addresses, against the demo shop behind `harvestguard proxy`
// (real engine, policy and catalogue of the lab's shop config). Reports, per profile, requests,
// refusals and the distinct records taken with protected fields in the clear.
// Run alone: npx node test/e2e/lab-proxy.ts [realSeconds=600] [speedup=60]
import {
  LAB_EPOCH_MS,
  ShopState,
  createLabEngine,
  createPopulation,
  createSimContext,
  loadLabSetup,
  runRealtime,
  scenarioActors,
  startShopServer,
  type ScenarioParams,
  type SimActor,
} from '../../src/lab/index.ts'
import { type Event, type Principal } from '../../src/core/index.ts'
import { type AccountResolver, createGuard, type GuardEngine } from '../../src/http/index.ts'
import { createReverseProxy } from '../../src/proxy/index.ts'

const HOUR_MS = 3_600_000

/** Per profile outcome of a run. */
export interface ProfileOutcome {
  actors: number
  requests: number
  blocked: number
  refused: number
  /** Distinct subjects served with a protected field in the clear. */
  leaked: number
}

export const LAB_PARAMS: ScenarioParams = {
  a1: {},
  a2: { ratePerSecond: 2 },
  a3: { ips: 120, perIpPerMinute: 1 },
  a4: { accounts: 10, ips: 5 },
  a5: { accounts: 200, ips: 60, profilesPerDay: 30 },
  b1: { actors: 100, meanGapMs: 3 * HOUR_MS },
  b2: { actors: 3, meanGapMs: HOUR_MS },
  b3: { actors: 30, meanGapMs: 6 * HOUR_MS },
  b4: { desks: 2 },
  b5: { actors: 1, gapMs: 20_000 },
  b6: { nats: 1, usersPerNat: 40, meanGapMs: 3 * HOUR_MS },
}

/** Runs the lab behind the proxy for `realMs` at `speedup` (virtual ms per real ms). */
export async function runLabBehindProxy(
  realMs: number,
  speedup: number,
  users = 50_000,
): Promise<Record<string, ProfileOutcome>> {
  const setup = loadLabSetup()
  const engine = createLabEngine(setup)
  const population = createPopulation({ seed: 1, users })
  const shop = await startShopServer(new ShopState(population))
  const actorOf = new Map<string, SimActor>()
  const rows = new Map<string, ProfileOutcome & { subjects: Set<number>; members: Set<SimActor> }>()
  const rowOf = (ip: string) => {
    const actor = actorOf.get(ip)
    if (actor === undefined) return undefined
    let r = rows.get(actor.profile)
    if (r === undefined)
      rows.set(
        actor.profile,
        (r = {
          actors: 0,
          requests: 0,
          blocked: 0,
          refused: 0,
          leaked: 0,
          subjects: new Set(),
          members: new Set(),
        }),
      )
    r.members.add(actor)
    return r
  }
  const counting: GuardEngine = {
    judge: (principals: readonly Principal[], timeMs: number) => engine.judge(principals, timeMs),
    observe: (event: Event) => {
      const r = rowOf(event.client.ip)
      if (r !== undefined) {
        r.requests++
        if (event.status === 403) r.blocked++
        if (event.status === 401 || event.status === 403 || event.status === 429) r.refused++
        if (event.status < 300)
          for (const e of event.exposures)
            if ((e.fields & setup.protectedMask) !== 0) r.subjects.add(e.subject)
      }
      return engine.observe(event)
    },
  }
  const wallStart = Date.now()
  const http = setup.config.http
  const guard = createGuard({
    engine: counting,
    keyer: setup.keyer,
    catalogue: setup.catalogue,
    ...(http.account === undefined ? {} : { account: http.account as AccountResolver }),
    sessionCookies: http.sessionCookies,
    apiKey: http.apiKey,
    // The engine's clock is the simulation's: compressed time, as the scripts see it.
    clock: () => LAB_EPOCH_MS + (Date.now() - wallStart) * speedup,
  })
  const proxy = createReverseProxy({ upstream: shop.url, guard })
  const url = await proxy.listen('127.0.0.1', 0)
  const ctx = createSimContext(population, 1, LAB_EPOCH_MS, 3650, 'http')
  const actors = scenarioActors(ctx, LAB_PARAMS)
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), realMs)
  try {
    await runRealtime({
      baseUrl: url,
      actors,
      startMs: LAB_EPOCH_MS,
      speedup,
      signal: abort.signal,
      onSend: (actor, s) => {
        if (!actorOf.has(s.ip)) actorOf.set(s.ip, actor)
      },
    })
  } finally {
    clearTimeout(timer)
    await proxy.close()
    await shop.close()
  }
  const out: Record<string, ProfileOutcome> = {}
  for (const [profile, r] of [...rows].toSorted(([a], [b]) => a.localeCompare(b)))
    out[profile] = {
      actors: r.members.size,
      requests: r.requests,
      blocked: r.blocked,
      refused: r.refused,
      leaked: r.subjects.size,
    }
  return out
}

if (import.meta.main) {
  const seconds = Number(process.argv[2] ?? 600)
  const speedup = Number(process.argv[3] ?? 60)
  const result = await runLabBehindProxy(seconds * 1000, speedup)
  console.log(
    `Lab behind harvestguard proxy: ${seconds} s real time at x${speedup} (${((seconds * speedup) / 3600).toFixed(1)} h virtual)\n`,
  )
  console.log(
    '| profile | actors | requests | refused (401/403/429) | blocked (403) | records in the clear |',
  )
  console.log('| --- | --- | --- | --- | --- | --- |')
  for (const [p, r] of Object.entries(result))
    console.log(
      `| ${p} | ${r.actors} | ${r.requests} | ${r.refused} | ${r.blocked} | ${r.leaked} |`,
    )
}
