/**
 * Secrets in config: written inline, as `{env: NAME}` or as `{file: PATH}`; held in a
 * {@link Secret} that prints as `[redacted]` everywhere (JSON, template strings, util.inspect),
 * so a config dump, log line or error message never carries the key behind every digest.
 */
import { z } from 'zod'

/** Shortest secret accepted: HMAC keys below 128 bits make digests guessable offline. */
export const MIN_SECRET_LENGTH = 16

/** A secret as written in config, before it is resolved. */
export type SecretRef = string | { readonly env: string } | { readonly file: string }

const REDACTED = '[redacted]'

/** A resolved secret value; `reveal()` is the only way to read it. */
export class Secret {
  readonly #value: string
  /** Where it came from, safe to print: `inline`, `env:NAME`, `file:PATH` or `generated`. */
  readonly source: string

  constructor(value: string, source: string) {
    this.#value = value
    this.source = source
  }

  /** The secret itself. Pass it to the Keyer or a client; never print it. */
  reveal(): string {
    return this.#value
  }

  toString(): string {
    return REDACTED
  }

  toJSON(): string {
    return `${REDACTED} (${this.source})`
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret ${REDACTED} (${this.source})`
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const EXPECTED = `expected a string (at least ${MIN_SECRET_LENGTH} characters), {env: NAME} or {file: PATH}`

/** zod schema of a {@link SecretRef}. Resolution (environment, file) happens after validation. */
export const secretRefSchema = z.union(
  [
    z.string().min(MIN_SECRET_LENGTH, {
      error: `expected at least ${MIN_SECRET_LENGTH} characters (a short secret makes digests guessable)`,
    }),
    z
      .object({
        env: z.string().regex(ENV_NAME, { error: 'expected an environment variable name' }),
      })
      .strict(),
    z.object({ file: z.string().min(1, { error: 'expected a file path' }) }).strict(),
  ],
  { error: EXPECTED },
)
