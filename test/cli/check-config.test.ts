import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { checkConfigCommand } from '../../src/cli/commands/check-config.ts'
import { runCli } from '../../src/cli/program.ts'

const SECRET = 'a-test-secret-of-sufficient-length'

async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  // Only this command: the test does not depend on every other command importing cleanly.
  const code = await runCli(args, [checkConfigCommand], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env,
  })
  return { code, out, err }
}

function run(file: string) {
  return spawnSync(process.execPath, ['bin/harvestguard.js', 'check-config', file], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HG_TEST_SECRET: SECRET },
  })
}

describe('harvestguard check-config', () => {
  it('summarises a valid file and exits 0', async () => {
    const r = await cli(['check-config', 'test/fixtures/config/good/catalogue.yaml'], {
      HG_TEST_SECRET: SECRET,
    })
    assert.equal(r.code, 0, r.err)
    assert.match(
      r.out,
      /catalogue\.yaml: ok: 3 routes, store memory, journal sqlite \.\/harvestguard\.db/,
    )
    assert.match(r.out, /secret from env:HG_TEST_SECRET/)
  })

  it('prints every issue in compiler style and exits 1', async () => {
    const r = await cli(['check-config', 'test/fixtures/config/bad/many.yaml'])
    assert.equal(r.code, 1)
    const lines = r.err.trim().split('\n')
    assert.equal(lines[0], 'invalid configuration (4 issues):')
    assert.equal(
      lines[1],
      'test/fixtures/config/bad/many.yaml:7:18 store.maxPrincipals: expected a positive integer, got "-x"',
    )
    assert.equal(lines.length, 5)
  })

  it('reports issues as JSON with --json', async () => {
    const r = await cli(['check-config', '--json', 'test/fixtures/config/bad/wrong-type.yaml'])
    assert.equal(r.code, 1)
    const doc = JSON.parse(r.out) as {
      ok: boolean
      issues: { code: string; path: string; line: number }[]
    }
    assert.equal(doc.ok, false)
    assert.deepEqual(
      doc.issues.map((i) => [i.code, i.path, i.line]),
      [['HG_CONFIG_TYPE', 'store.maxPrincipals', 3]],
    )
  })

  it('prints the resolved config with secrets redacted', async () => {
    const r = await cli(['check-config', '--print', 'test/fixtures/config/good/catalogue.yaml'], {
      HG_TEST_SECRET: SECRET,
    })
    assert.equal(r.code, 0)
    assert.ok(!r.out.includes(SECRET))
    assert.match(r.out, /"secret": "\[redacted\] \(env:HG_TEST_SECRET\)"/)
  })

  it('hides passwords in connection URLs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hg-cli-'))
    try {
      const file = join(dir, 'c.yaml')
      writeFileSync(
        file,
        "store: { kind: redis, redis: { url: 'redis://default:hunter2hunter2@127.0.0.1:6379' } }\n" +
          "journal: { kind: postgres, postgres: { url: 'postgres://hg:pg-pass-123@127.0.0.1/test' } }\n",
      )
      const r = await cli(['check-config', '--print', file], { HARVESTGUARD_SECRET: SECRET })
      assert.equal(r.code, 0, r.err)
      assert.ok(!r.out.includes('hunter2hunter2') && !r.out.includes('pg-pass-123'), r.out)
      assert.match(r.out, /redis:\/\/default:\*\*\*@127\.0\.0\.1:6379/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('warns on stderr when no secret is configured', async () => {
    const r = await cli(['check-config', 'test/fixtures/config/good/empty.yaml'])
    assert.equal(r.code, 0)
    assert.match(r.err, /no secret configured/)
  })

  it('names a file it cannot read', async () => {
    const r = await cli(['check-config', 'test/fixtures/config/nope.yaml'])
    assert.equal(r.code, 1)
    assert.match(r.err, /cannot read config file test\/fixtures\/config\/nope\.yaml \(ENOENT\)/)
  })

  it('exits 2 on a usage error', async () => {
    const r = await cli(['check-config'])
    assert.equal(r.code, 2)
    assert.match(r.err, /missing required argument 'file'/)
    assert.equal((await cli(['no-such-command'])).code, 2)
  })

  it('runs as the installed binary with the same exit codes', () => {
    const good = run('test/fixtures/config/good/catalogue.yaml')
    assert.equal(good.status, 0, good.stderr)
    assert.match(good.stdout, /ok: 3 routes/)
    const bad = run('test/fixtures/config/bad/unknown-key.yaml')
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /unknown-key\.yaml:4:3 store\.snapshotPth: unknown key/)
  })
})
