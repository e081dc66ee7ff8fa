// Builders shared by the engine's tests: events as a feeder would make them, and policies from
// the real schema (so the defaults under test are the shipped ones).
import { policySchema, type PolicyInput } from '../../src/config/policy-schema.ts'
import {
  compilePolicy,
  type CompiledPolicy,
  type Event,
  type Exposure,
  type Principal,
  type ResourceKind,
} from '../../src/core/index.ts'

/** 2026-01-05 00:00 UTC, a Monday. */
export const T0 = Date.UTC(2026, 0, 5)
export const HOUR = 3_600_000
export const MINUTE = 60_000

/** FIELD_BIT shortcuts. */
export const F = { id: 1, phone: 2, name: 4, email: 8, comment: 128 } as const

export function policy(input: PolicyInput = {}): CompiledPolicy {
  return compilePolicy(policySchema.parse(input))
}

export interface EventInit {
  timeMs?: number
  principals?: Principal[]
  resource?: ResourceKind
  exposures?: Exposure[]
  status?: number
  referer?: boolean
  anomalies?: number
  ordinal?: number
  route?: string
}

export function event(init: EventInit = {}): Event {
  return {
    timeMs: init.timeMs ?? T0,
    method: 'GET',
    route: init.route ?? 'GET /api/users/:userId',
    path: '/',
    status: init.status ?? 200,
    bytes: 100,
    resource: init.resource ?? 'api',
    principals: init.principals ?? ['ip:198.51.100.7'],
    exposures: init.exposures ?? [],
    client: {
      ip: '198.51.100.7',
      userAgent: 'Mozilla/5.0',
      referer: init.referer ?? true,
      anomalies: init.anomalies ?? 0,
    },
    ordinal: init.ordinal ?? -1,
  }
}

/** One record of subject `s` with the given field mask (default id + name). */
export function rec(s: number, fields = F.id | F.name): Exposure {
  return { subject: s, fields }
}
