import type { LinkedPrincipal } from './actors.ts'
import type { Principal } from './principal.ts'

/** What the guard does about a principal, weakest first. */
export const ACTIONS = ['allow', 'observe', 'mask', 'throttle', 'challenge', 'block'] as const
/** One of {@link ACTIONS}. */
export type Action = (typeof ACTIONS)[number]

/** Rank of an action: a larger rank is stronger. */
export function actionRank(action: Action): number {
  return ACTIONS.indexOf(action)
}

/** The stronger of two actions. */
export function strongerAction(a: Action, b: Action): Action {
  return actionRank(a) >= actionRank(b) ? a : b
}

/** One signal's part in a decision: what it measured and how much it added to the score. */
export interface Reading {
  /** Signal name, e.g. `distinct-records`. */
  readonly signal: string
  /** The measured value in the signal's own unit (records, ratio, coefficient of variation…). */
  readonly value: number
  /** Points added to the score. */
  readonly contribution: number
  /** One line a person understands: `1,240 distinct records in 24h, budget 300`. */
  readonly note: string
}

/**
 * The engine's verdict on a principal: an action, the score behind it, its reasons and how long
 * it holds. Journaled; enforced unless the policy runs in shadow mode.
 */
export interface Decision {
  readonly principal: Principal
  /** Actor the principal belongs to (see actor linking), equal to `principal` when unlinked. */
  readonly actor: string
  readonly action: Action
  readonly score: number
  readonly readings: readonly Reading[]
  /** Other identities of the same actor the decision also reaches, with why they are linked. */
  readonly linked: readonly LinkedPrincipal[]
  /** Event time the decision was taken at. */
  readonly timeMs: number
  /** Event time after which the decision lapses unless renewed. */
  readonly expiresAtMs: number
  /** True when the policy runs in shadow mode: journaled, never enforced. */
  readonly shadow: boolean
}
