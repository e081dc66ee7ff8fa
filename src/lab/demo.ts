import { SqliteJournal } from '../journal/index.ts'
import type { Decision, Principal } from '../core/index.ts'
import { createPopulation } from './population.ts'
import { runRealtime } from './realtime.ts'
import { scenarioActors, type ScenarioParams } from './scenarios.ts'
import { LAB_EPOCH_MS } from './scoreboard.ts'
import { createLabEngine, loadLabSetup } from './setup.ts'
import { startProxiedShop } from './proxied.ts'
import { ShopState } from './shop/handlers.ts'
import { createSimContext, HOUR_MS, type Profile, type SimActor } from './sim/common.ts'

/**
 * `harvestguard demo`: the shop on loopback behind the reverse proxy of `harvestguard proxy`
 * (judging before each answer, masking or refusing), benign people and the five harvesters in
 * accelerated real time over loopback HTTP from their own 127.x.y.z addresses, and a live
 * terminal view. Zero config: the shop's catalogue, in-memory ledgers, decisions journaled to a
 * SQLite file.
 */

/** Options of {@link runDemo}. */
export interface DemoOptions {
  readonly seed?: number
  /** @default 200000 */
  readonly users?: number
  /** Virtual ms per real ms. @default 120 */
  readonly speedup?: number
  /** Stop after this many real milliseconds; undefined runs until aborted (Ctrl-C). */
  readonly durationMs?: number
  /** SQLite journal path. @default './harvestguard-demo.db' */
  readonly journalPath?: string
  readonly signal?: AbortSignal
  /** Where the live view goes. */
  readonly write: (text: string) => void
  /** Redraw in place with ANSI escapes (a terminal); false prints a frame every interval. @default true */
  readonly ansi?: boolean
  /** Redraw interval. @default 1000 */
  readonly refreshMs?: number
}

/** Per-profile counters the live view shows. */
interface Row {
  actors: Set<string>
  requests: number
  refused: number
  masked: number
  leaked: Set<number>
}

/** What the demo saw, returned when it stops. */
export interface DemoSummary {
  readonly requests: number
  readonly decisions: number
  readonly rows: Readonly<
    Record<
      string,
      {
        readonly actors: number
        readonly requests: number
        readonly refused: number
        readonly masked: number
        readonly records: number
      }
    >
  >
}

// A cast sized for a laptop: a few hundred requests a second at the default speed-up.
const DEMO_PARAMS: ScenarioParams = {
  a1: {},
  a2: { ratePerSecond: 2 },
  a3: { ips: 120, perIpPerMinute: 1 },
  a4: { accounts: 10, ips: 5 },
  a5: { accounts: 200, ips: 60, profilesPerDay: 30 },
  b1: { actors: 150, meanGapMs: 3 * HOUR_MS },
  b2: { actors: 3, meanGapMs: HOUR_MS },
  b3: { actors: 40, meanGapMs: 6 * HOUR_MS },
  b4: { desks: 2 },
  b5: { actors: 1, gapMs: 20_000 },
  b6: { nats: 1, usersPerNat: 60, meanGapMs: 3 * HOUR_MS },
}

const NAMES: Record<string, string> = {
  A1: 'partner insider',
  A2: 'sprinter',
  A3: 'swarm',
  A4: 'mimic',
  A5: 'account farm',
  B1: 'shoppers',
  B2: 'heavy shoppers',
  B3: 'logged-in buyers',
  B4: 'partner desks',
  B5: 'verified crawler',
  B6: 'shared NAT',
}

/** Runs the demo until `durationMs` passes or `signal` aborts; resolves with a summary. */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const seed = options.seed ?? 1
  const setup = loadLabSetup()
  const engine = createLabEngine(setup)
  const journal = new SqliteJournal({ path: options.journalPath ?? './harvestguard-demo.db' })
  const recent: Decision[] = []
  let decisions = 0
  engine.onDecision((d) => {
    journal.recordDecision(d)
    decisions++
    if (d.action !== 'observe') {
      recent.unshift(d)
      if (recent.length > 6) recent.pop()
    }
  })
  const population = createPopulation({ seed, users: options.users ?? 200_000 })
  const state = new ShopState(population)

  // Source address -> actor, filled as actors send (the guard sees only the address).
  const actorOf = new Map<string, SimActor>()
  const rows = new Map<string, Row>()
  const row = (profile: Profile): Row => {
    let r = rows.get(profile)
    if (r === undefined)
      rows.set(
        profile,
        (r = { actors: new Set(), requests: 0, refused: 0, masked: 0, leaked: new Set() }),
      )
    return r
  }
  const actorOfPrincipals = (principals: readonly Principal[]): SimActor | undefined => {
    const ip = principals.find((p) => p.startsWith('ip:'))
    return ip === undefined ? undefined : actorOf.get(ip.slice(3))
  }
  let requests = 0

  const speedup = options.speedup ?? 120
  let wallStart = Date.now()
  const virtualNow = (wallMs: number) => LAB_EPOCH_MS + (wallMs - wallStart) * speedup
  const shop = await startProxiedShop({
    setup,
    state,
    engine,
    clock: () => virtualNow(Date.now()),
    onJudge(principals, verdict) {
      if (verdict.action !== 'mask') return
      const actor = actorOfPrincipals(principals)
      if (actor !== undefined) row(actor.profile).masked++
    },
    onEvent(event) {
      requests++
      const actor = actorOf.get(event.client.ip)
      if (actor === undefined) return
      const r = row(actor.profile)
      r.actors.add(actor.id)
      r.requests++
      if (event.status === 401 || event.status === 403 || event.status === 429) r.refused++
      else if (event.status < 300)
        for (const e of event.exposures)
          if ((e.fields & setup.protectedMask) !== 0) r.leaked.add(e.subject)
    },
  })
  wallStart = Date.now()
  const ctx = createSimContext(population, seed, LAB_EPOCH_MS, 3650, 'http')
  const actors = scenarioActors(ctx, DEMO_PARAMS)

  const controller = new AbortController()
  const stop = () => controller.abort()
  options.signal?.addEventListener('abort', stop, { once: true })
  const timer = options.durationMs === undefined ? undefined : setTimeout(stop, options.durationMs)
  const ansi = options.ansi ?? true
  const draw = () => options.write(frame(ansi))
  const view = setInterval(draw, options.refreshMs ?? 1000)

  function frame(redraw: boolean): string {
    const now = virtualNow(Date.now())
    const elapsed = (Date.now() - wallStart) / 1000
    const lines: string[] = []
    lines.push(
      `HarvestGuard demo · shop ${shop.shopUrl} behind the proxy at ${shop.url} · virtual time ${new Date(now).toISOString().slice(0, 16).replace('T', ' ')} UTC (x${speedup}) · ${elapsed.toFixed(0)} s · ${requests} requests · ${decisions} decisions`,
    )
    lines.push(
      'Harvesters (A) try to collect personal records; real people (B) shop. The guard counts, per identity,',
    )
    lines.push(
      'the distinct records each one was served, and stops those far beyond what a person needs.',
    )
    lines.push('')
    lines.push(
      'who                       actors  requests  refused   masked  records taken in the clear',
    )
    for (const p of ['A1', 'A2', 'A3', 'A4', 'A5', 'B1', 'B2', 'B3', 'B4', 'B5', 'B6']) {
      const r = rows.get(p)
      if (r === undefined) continue
      const label = `${p} ${NAMES[p] ?? ''}`.padEnd(24)
      lines.push(
        `${label} ${String(r.actors.size).padStart(7)} ${String(r.requests).padStart(9)} ${String(r.refused).padStart(8)} ${String(r.masked).padStart(8)}  ${String(r.leaked.size).padStart(8)}`,
      )
    }
    lines.push('')
    lines.push('latest decisions (why):')
    for (const d of recent) {
      const actor = [...actorOf.values()].find(
        (a) => d.principal.startsWith('ip:') && actorOf.get(d.principal.slice(3)) === a,
      )
      const reasons = d.readings
        .filter((x) => x.contribution > 0)
        .slice(0, 2)
        .map((x) => x.note)
        .join('; ')
      lines.push(
        `  ${d.action.padEnd(9)} ${d.principal.slice(0, 28).padEnd(28)} ${actor === undefined ? '' : `(${actor.profile}) `}${reasons}`.slice(
          0,
          160,
        ),
      )
    }
    lines.push('')
    lines.push('Ctrl-C stops. Decisions are journaled to the SQLite file; nothing raw is stored.')
    return redraw ? `\u001b[H\u001b[2J${lines.join('\n')}\n` : `${lines.join('\n')}\n\n`
  }

  try {
    await runRealtime({
      baseUrl: shop.url,
      actors,
      startMs: LAB_EPOCH_MS,
      speedup,
      signal: controller.signal,
      onSend: (actor, s) => {
        if (!actorOf.has(s.ip)) actorOf.set(s.ip, actor)
      },
    })
  } finally {
    clearInterval(view)
    if (timer !== undefined) clearTimeout(timer)
    draw()
    await shop.close()
    await journal.flush()
    await journal.close()
  }
  const out: Record<
    string,
    { actors: number; requests: number; refused: number; masked: number; records: number }
  > = {}
  for (const [p, r] of rows)
    out[p] = {
      actors: r.actors.size,
      requests: r.requests,
      refused: r.refused,
      masked: r.masked,
      records: r.leaked.size,
    }
  return { requests, decisions, rows: out }
}
