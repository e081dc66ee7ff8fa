import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { loadConfigFile } from '../../src/config/index.ts'
import { ConfigError } from '../../src/core/errors.ts'

const DIR = 'test/fixtures/config'
const env = {
  HG_TEST_SECRET: 'a-test-secret-of-sufficient-length',
  HG_TEST_ADMIN_TOKEN: 'an-admin-token-of-sufficient-length',
}

/** `# expect: CODE path` lines at the top of a bad fixture (path may be empty: the root). */
function expectations(text: string): { code: string; path: string }[] {
  return [...text.matchAll(/^# expect: (HG_[A-Z_]+)(?: (\S+))?$/gm)].map((m) => ({
    code: m[1] as string,
    path: m[2] ?? '',
  }))
}

const key = (x: { code: string; path: string }): string => `${x.code} ${x.path}`

describe('config fixtures', () => {
  for (const name of readdirSync(join(DIR, 'good'))) {
    it(`accepts good/${name}`, () => {
      const config = loadConfigFile(join(DIR, 'good', name), { env })
      assert.ok(Object.isFrozen(config))
    })
  }

  for (const name of readdirSync(join(DIR, 'bad'))) {
    it(`rejects bad/${name} with the issues it names`, () => {
      const file = join(DIR, 'bad', name)
      const expected = expectations(readFileSync(file, 'utf8'))
      assert.ok(expected.length > 0, `${file} names no expected issue`)
      assert.throws(
        () => loadConfigFile(file, { env }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, String(e))
          const got = e.issues.map((i) => ({ code: i.code, path: i.path }))
          assert.deepEqual(got.map(key).toSorted(), expected.map(key).toSorted(), e.message)
          for (const issue of e.issues) {
            assert.equal(issue.file, file)
            assert.ok(issue.line > 0, `no line for ${issue.path}: ${e.message}`)
            assert.ok(e.message.includes(`${file}:${issue.line}:${issue.column}`), e.message)
          }
          return true
        },
      )
    })
  }
})
