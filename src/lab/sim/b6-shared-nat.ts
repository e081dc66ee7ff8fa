import { HOUR_MS, type SimActor, type SimContext } from './common.ts'
import { createB1 } from './b1-shoppers.ts'

/**
 * B6, shared NAT: hundreds of real shoppers behind one address (a campus or a mobile carrier's
 * gateway). Each person is a B1 shopper with its own browser; only the IP is shared, so the IP
 * alone sees a crowd's worth of distinct records.
 */
export interface B6Options {
  /** NAT gateways. @default 2 */
  readonly nats?: number
  /** People behind each gateway. @default 200 */
  readonly usersPerNat?: number
  /** Mean time between one person's sessions at peak hours. @default 30 h */
  readonly meanGapMs?: number
}

export const B6_DEFAULTS: Required<B6Options> = {
  nats: 2,
  usersPerNat: 200,
  meanGapMs: 30 * HOUR_MS,
}

/** Creates the people behind shared NATs. */
export function createB6(ctx: SimContext, options: B6Options = {}): SimActor[] {
  const o = { ...B6_DEFAULTS, ...options }
  const actors: SimActor[] = []
  for (let n = 0; n < o.nats; n++) {
    const shared = createB1(ctx, {
      actors: o.usersPerNat,
      meanGapMs: o.meanGapMs,
      ipPool: `b6-${n}`,
      sharedIp: ctx.ip('b6', n),
      profile: 'B6',
    })
    for (const a of shared) actors.push({ ...a, id: `B6-${n}-${a.id.slice(3)}` })
  }
  return actors
}
