// The lab's adversaries A1-A5 and benign populations B1-B6 in compressed real time over HTTP,
// each from its own 127.x.y.z source addresses and with its client stack's headers
// (src/lab/realtime.ts), against the demo shop behind the reverse proxy of `harvestguard proxy`
// (src/lab/startProxiedShop: real engine, policy and catalogue of the shop's config, accounts from
// the shop's session store). Reports, per profile, requests, refusals, masked answers, the
// distinct records taken with protected fields in the clear (and by which route), the source
// addresses and /24 networks used, and why benign clients were refused.
// Run alone: npx node test/e2e/lab-proxy.ts [realSeconds=600] [speedup=60] [--config FILE]
import {
  LAB_EPOCH_MS,
  ShopState,
  createLabEngine,
  createPopulation,
  createSimContext,
  isLoopback,
  loadLabSetup,
  runRealtime,
  scenarioActors,
  startProxiedShop,
  type ScenarioParams,
  type SimActor,
} from '../../src/lab/index.ts'
import { type Event, type Principal } from '../../src/core/index.ts'
import { type GuardVerdict } from '../../src/http/index.ts'

const HOUR_MS = 3_600_000

/** Per profile outcome of a run. */
export interface ProfileOutcome {
  actors: number
  requests: number
  /** 403 answers (block). */
  blocked: number
  /** 401, 403 and 429 answers (challenge, block, throttle). */
  refused: number
  /** Requests the engine said to answer masked. */
  masked: number
  /** Distinct subjects served with a protected field in the clear. */
  leaked: number
  /** Those subjects by the route that first served them in the clear. */
  leakedByRoute: Record<string, number>
  /** Distinct source addresses the profile's requests came from. */
  addresses: number
  /** Distinct /24 networks of those addresses. */
  networks: number
  /** Source addresses outside 127.0.0.0/8 (must stay 0: the lab's loopback-only rule). */
  nonLoopback: number
  /** Most frequent reasons of refusals (`action principal-kind: signals`), benign profiles only. */
  refusalReasons: string[]
}

/**
 * Simulator parameters: the threat model's profiles (docs/threat-model.md) at their lower end
 * where the machine cannot replay more in real time, with smaller benign samples.
 * A1: 1 key, 2 IPs, a lookup every 2-10 s. A2: one IP at 20 req/s (profile 20-100). A3: 300
 * proxy IPs, 2 per /24, 1 request per IP per minute (profile: 300-1,000 IPs, a few a minute).
 * A4: 20 logged-in accounts over 10 IPs (profile 10-50 accounts). A5: 1,000 accounts over 250
 * IPs, 30 profiles per account a day (profile: 1,000+ accounts, a few dozen a day).
 */
export const LAB_PARAMS: ScenarioParams = {
  a1: {},
  a2: { ratePerSecond: 20 },
  a3: { ips: 300, ipsPerNet: 2, perIpPerMinute: 1 },
  a4: { accounts: 20, ips: 10 },
  a5: { accounts: 1000, ips: 250, profilesPerDay: 30 },
  b1: { actors: 100, meanGapMs: 3 * HOUR_MS },
  b2: { actors: 3, meanGapMs: HOUR_MS },
  b3: { actors: 30, meanGapMs: 6 * HOUR_MS },
  b4: { desks: 2 },
  b5: { actors: 1, gapMs: 20_000 },
  b6: { nats: 1, usersPerNat: 40, meanGapMs: 3 * HOUR_MS },
}

const REFUSING = new Set(['throttle', 'challenge', 'block'])

/** Runs the lab behind the proxy for `realMs` at `speedup` (virtual ms per real ms). */
export async function runLabBehindProxy(
  realMs: number,
  speedup: number,
  users = 50_000,
  params: ScenarioParams = LAB_PARAMS,
  configFile?: string,
): Promise<Record<string, ProfileOutcome>> {
  const setup = configFile === undefined ? loadLabSetup() : loadLabSetup(configFile)
  const engine = createLabEngine(setup)
  const population = createPopulation({ seed: 1, users })
  const state = new ShopState(population)
  const actorOf = new Map<string, SimActor>()
  interface Row {
    requests: number
    blocked: number
    refused: number
    masked: number
    subjects: Set<number>
    byRoute: Map<string, number>
    members: Set<SimActor>
    addresses: Set<string>
    reasons: Map<string, number>
  }
  const rows = new Map<string, Row>()
  const rowOfProfile = (profile: string): Row => {
    let r = rows.get(profile)
    if (r === undefined)
      rows.set(
        profile,
        (r = {
          requests: 0,
          blocked: 0,
          refused: 0,
          masked: 0,
          subjects: new Set(),
          byRoute: new Map(),
          members: new Set(),
          addresses: new Set(),
          reasons: new Map(),
        }),
      )
    return r
  }
  const actorOfPrincipals = (principals: readonly Principal[]): SimActor | undefined => {
    const ip = principals.find((p) => p.startsWith('ip:'))
    return ip === undefined ? undefined : actorOf.get(ip.slice(3))
  }
  const noteRefusal = (principals: readonly Principal[], verdict: GuardVerdict): void => {
    if (!REFUSING.has(verdict.action)) return
    const actor = actorOfPrincipals(principals)
    if (actor === undefined || actor.kind !== 'benign' || verdict.decision === undefined) return
    const d = verdict.decision
    const key = `${verdict.action} ${d.principal.slice(0, d.principal.indexOf(':'))}: ${d.readings
      .filter((r) => r.contribution > 0)
      .map((r) => r.signal)
      .join('+')}`
    const reasons = rowOfProfile(actor.profile).reasons
    reasons.set(key, (reasons.get(key) ?? 0) + 1)
  }
  const onJudge = (principals: readonly Principal[], verdict: GuardVerdict): void => {
    if (verdict.action === 'mask') {
      const actor = actorOfPrincipals(principals)
      if (actor !== undefined) rowOfProfile(actor.profile).masked++
    }
    noteRefusal(principals, verdict)
  }
  const onEvent = (event: Event): void => {
    const actor = actorOf.get(event.client.ip)
    if (actor === undefined) return
    const r = rowOfProfile(actor.profile)
    r.members.add(actor)
    r.requests++
    if (event.status === 403) r.blocked++
    if (event.status === 401 || event.status === 403 || event.status === 429) r.refused++
    if (event.status < 300)
      for (const e of event.exposures)
        if ((e.fields & setup.protectedMask) !== 0 && !r.subjects.has(e.subject)) {
          r.subjects.add(e.subject)
          r.byRoute.set(event.route, (r.byRoute.get(event.route) ?? 0) + 1)
        }
  }
  const wallStart = Date.now()
  const shop = await startProxiedShop({
    setup,
    state,
    engine,
    // The engine's clock is the simulation's: compressed time, as the scripts see it.
    clock: () => LAB_EPOCH_MS + (Date.now() - wallStart) * speedup,
    onJudge,
    onEvent,
  })
  const ctx = createSimContext(population, 1, LAB_EPOCH_MS, 3650, 'http')
  const actors = scenarioActors(ctx, params)
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), realMs)
  let shared = 0
  try {
    await runRealtime({
      baseUrl: shop.url,
      actors,
      startMs: LAB_EPOCH_MS,
      speedup,
      signal: abort.signal,
      onSend: (actor, s) => {
        const owner = actorOf.get(s.ip)
        if (owner === undefined) actorOf.set(s.ip, actor)
        else if (owner.profile !== actor.profile) shared++
        rowOfProfile(actor.profile).addresses.add(s.ip)
      },
    })
  } finally {
    clearTimeout(timer)
    await shop.close()
  }
  if (shared > 0)
    throw new Error(`${shared} requests came from an address another profile also used`)
  const out: Record<string, ProfileOutcome> = {}
  for (const [profile, r] of [...rows].toSorted(([a], [b]) => a.localeCompare(b)))
    out[profile] = {
      actors: r.members.size,
      requests: r.requests,
      blocked: r.blocked,
      refused: r.refused,
      masked: r.masked,
      leaked: r.subjects.size,
      leakedByRoute: Object.fromEntries(r.byRoute),
      addresses: r.addresses.size,
      networks: new Set([...r.addresses].map((a) => a.slice(0, a.lastIndexOf('.')))).size,
      nonLoopback: [...r.addresses].filter((a) => !isLoopback(a)).length,
      refusalReasons: [...r.reasons]
        .toSorted((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([k, n]) => `${k} (${n})`),
    }
  return out
}

/** The per-profile table as Markdown. */
export function formatOutcomes(result: Record<string, ProfileOutcome>): string {
  const lines = [
    '| profile | actors | source addresses (/24s) | requests | refused (401/403/429) | blocked (403) | masked | records in the clear | why benign clients were refused |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const [p, r] of Object.entries(result))
    lines.push(
      `| ${p} | ${r.actors} | ${r.addresses} (${r.networks}) | ${r.requests} | ${r.refused} | ${r.blocked} | ${r.masked} | ${r.leaked} | ${r.refusalReasons.join('; ')} |`,
    )
  return lines.join('\n')
}

if (import.meta.main) {
  const args = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--config')
  const configAt = process.argv.indexOf('--config')
  const configFile = configAt < 0 ? undefined : process.argv[configAt + 1]
  const seconds = Number(args[0] ?? 600)
  const speedup = Number(args[1] ?? 60)
  const started = new Date().toISOString()
  const result = await runLabBehindProxy(seconds * 1000, speedup, 50_000, LAB_PARAMS, configFile)
  const { loadavg } = await import('node:os')
  console.log(
    `Lab behind harvestguard proxy: ${seconds} s real time at x${speedup} (${((seconds * speedup) / 3600).toFixed(1)} h virtual), config ${configFile ?? 'examples/shop/harvestguard.yaml'}, started ${started}, load average at the end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  )
  console.log(formatOutcomes(result))
  console.log('\nRecords in the clear by route (adversaries):')
  for (const [p, r] of Object.entries(result))
    if (p.startsWith('A')) console.log(`- ${p}: ${JSON.stringify(r.leakedByRoute)}`)
  const missed = Object.entries(result).filter(
    ([p, r]) => (p.startsWith('A') && r.leaked > 1000) || (p.startsWith('B') && r.blocked > 0),
  )
  console.log(
    missed.length === 0
      ? '\nTargets met: every adversary <= 1,000 records, no benign client blocked.'
      : `\nTargets missed: ${missed.map(([p, r]) => (p.startsWith('A') ? `${p} took ${r.leaked} records` : `${p} blocked ${r.blocked} times`)).join(', ')}.`,
  )
}
