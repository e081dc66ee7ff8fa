/** Shared by the Redis store tests and the fleet tests: policy, events, a keyed digest. */
import { policySchema } from '../../src/config/policy-schema.ts'
import { compilePolicy } from '../../src/core/index.ts'
import type { CompiledPolicy, Event, Principal } from '../../src/core/index.ts'
import { FIELD_BIT } from '../../src/core/index.ts'

/** The default policy, compiled. */
export function defaultPolicy(): CompiledPolicy {
  return compilePolicy(policySchema.parse({}))
}

/** An API event serving the records `subjects` (id + name + phone) to `principals`. */
export function apiEvent(
  principals: readonly Principal[],
  timeMs: number,
  subjects: readonly number[],
): Event {
  return {
    timeMs,
    method: 'GET',
    route: 'GET /api/users/:userId',
    path: `/api/users/${subjects[0] ?? 0}`,
    status: 200,
    bytes: 512,
    resource: 'api',
    principals,
    exposures: subjects.map((s) => ({
      subject: s,
      fields: FIELD_BIT.id | FIELD_BIT.name | FIELD_BIT.phone,
    })),
    client: { ip: '127.0.0.1', userAgent: 'python-requests/2.31', referer: false, anomalies: 0 },
    ordinal: -1,
  }
}
