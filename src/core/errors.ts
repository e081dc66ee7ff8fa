/**
 * HarvestGuard's one error class with a stable `code` (`HG_UPPER_SNAKE`), plus the two
 * specialisations every part shares: {@link ConfigError} (all issues of a config at once, each
 * with file:line:column and path) and {@link ParseError} (one bad line of an input file).
 * Every code used anywhere in src has a row in docs/errors.md; a test keeps them in step.
 */

/**
 * An operator mistake or broken infrastructure, with a stable machine-readable `code`.
 * Hostile or malformed traffic is data and never raises one of these.
 */
export class HarvestGuardError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'HarvestGuardError'
  }
}

/** Codes raised by this file's classes. */
export const CONFIG_INVALID = 'HG_CONFIG_INVALID'
/** Code of a {@link ParseError} unless the caller picks a more specific one. */
export const PARSE_FAILED = 'HG_PARSE_FAILED'

/**
 * One problem found in a configuration: where it is and what is wrong. `line` and `column` are
 * 1-based; 0 when the position is unknown (e.g. a key that is missing altogether).
 */
export interface ConfigIssue {
  /** Stable code of this issue, e.g. `HG_CONFIG_TYPE`. */
  readonly code: string
  readonly file: string
  readonly line: number
  readonly column: number
  /** Dotted path of the offending key, e.g. `policy.budgets.account.records`; '' for the root. */
  readonly path: string
  readonly message: string
}

/** Formats a path array as `a.b[2].c`; keys that are not identifiers are quoted. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else if (typeof key === 'string' && /^[\w$-]+$/.test(key) && !/^\d+$/.test(key))
      out += out === '' ? key : `.${key}`
    else out += `[${JSON.stringify(String(key))}]`
  }
  return out
}

/** Formats one issue in compiler style: `file:12:5 path: message`. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file
  return issue.path === ''
    ? `${where} ${issue.message}`
    : `${where} ${issue.path}: ${issue.message}`
}

/**
 * A configuration that failed validation. Carries every issue at once (not just the first), so
 * an operator fixes a file in one pass; `message` lists them one per line in compiler style.
 */
export class ConfigError extends HarvestGuardError {
  readonly issues: readonly ConfigIssue[]
  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const list = issues.map(formatConfigIssue)
    const head =
      issues.length === 1
        ? 'invalid configuration'
        : `invalid configuration (${issues.length} issues)`
    super(CONFIG_INVALID, `${head}:\n${list.join('\n')}`, options)
    this.name = 'ConfigError'
    this.issues = Object.freeze([...issues])
  }
}

/**
 * An input file (access log, fixture, snapshot) that could not be parsed at a given line.
 * `line` is 1-based; 0 when the problem is not tied to one line (e.g. a truncated gzip stream).
 */
export class ParseError extends HarvestGuardError {
  readonly file: string
  readonly line: number
  constructor(
    file: string,
    line: number,
    message: string,
    options?: { cause?: unknown; code?: string },
  ) {
    const where = line > 0 ? `${file}:${line}` : file
    super(options?.code ?? PARSE_FAILED, `${where} ${message}`, options)
    this.name = 'ParseError'
    this.file = file
    this.line = line
  }
}

/** Whether `value` is a {@link HarvestGuardError} (optionally with the given code). */
export function isHarvestGuardError(value: unknown, code?: string): value is HarvestGuardError {
  return value instanceof HarvestGuardError && (code === undefined || value.code === code)
}
