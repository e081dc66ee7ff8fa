// Test helpers for the HTTP feeders: a real keyed digest and an engine double whose verdicts a
// test sets per principal, recording every event it is fed.
import type { Action, Decision } from '../../src/core/decision.ts'
import type { Event } from '../../src/core/event.ts'
import type { Keyer } from '../../src/core/ports.ts'
import type { GuardEngine, GuardVerdict } from '../../src/http/index.ts'
import { createKeyer } from '../../src/keyer/index.ts'

/** The production keyer (SipHash-2-4 under a test secret). */
export function testKeyer(secret = 'test-secret-0123456789'): Keyer {
  return createKeyer(secret)
}

/** An engine double: verdicts by principal (the strongest wins), events recorded. */
export class RecordingEngine implements GuardEngine {
  readonly events: Event[] = []
  readonly judged: (readonly string[])[] = []
  readonly verdicts = new Map<string, Action>()

  judge(principals: readonly string[], timeMs: number): GuardVerdict {
    this.judged.push(principals)
    const order = ['allow', 'observe', 'mask', 'throttle', 'challenge', 'block']
    let best: Action = 'allow'
    let who = principals[0]!
    for (const p of principals) {
      const a = this.verdicts.get(p)
      if (a !== undefined && order.indexOf(a) > order.indexOf(best)) {
        best = a
        who = p
      }
    }
    if (best === 'allow') return { action: 'allow', decision: undefined }
    const decision: Decision = {
      principal: who,
      actor: who,
      action: best,
      score: 10,
      readings: [{ signal: 'distinct-records', value: 500, contribution: 10, note: 'test' }],
      linked: [],
      timeMs,
      expiresAtMs: timeMs + 30_000,
      shadow: false,
    }
    return { action: best, decision }
  }

  observe(event: Event): GuardVerdict {
    this.events.push(event)
    return { action: 'allow', decision: undefined }
  }
}
