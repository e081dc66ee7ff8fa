// Real crawlers, not ours (Debian's wget, httrack, scrapy), pointed at the proxied shop's home
// page: each must be stopped before 500 records and see a clear block or challenge. Under
// CI=true a missing tool fails (.ci/run installs them); locally its test skips, saying why.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startGuardedProxy, startShop } from './support.ts'

const CI = process.env['CI'] === 'true'
const tool = (bin: string): string | false =>
  existsSync(bin) || CI ? false : `${bin} is not installed (CI installs it via .ci/run)`

function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore', env: { ...process.env, ...env }, cwd })
    // A crawler that is never stopped would run until it has everything: bound it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve(code ?? -1)
    })
  })
}

describe('real crawlers against the proxied shop', () => {
  let shop: { server: Server; url: string }
  const dir = mkdtempSync(join(tmpdir(), 'hg-crawl-'))
  before(async () => {
    shop = await startShop()
  })
  after(async () => {
    await new Promise<void>((r) => shop.server.close(() => r()))
    rmSync(dir, { recursive: true, force: true })
  })

  const crawlers: [string, string, (url: string) => Promise<number>][] = [
    [
      'wget --recursive',
      '/usr/bin/wget',
      (url) =>
        run('/usr/bin/wget', [
          '--recursive',
          '--level=inf',
          '-q',
          '-e',
          'robots=off',
          '-P',
          join(dir, 'wget'),
          `${url}/`,
        ]),
    ],
    [
      'httrack',
      '/usr/bin/httrack',
      (url) =>
        run('/usr/bin/httrack', [
          `${url}/`,
          '-O',
          join(dir, 'httrack'),
          '-q',
          '-%v0',
          '-s0',
          '-c8',
          '-r99',
        ]),
    ],
    [
      'scrapy',
      '/usr/bin/scrapy',
      (url) =>
        run(
          '/usr/bin/scrapy',
          ['runspider', join(import.meta.dirname, 'fixtures/spider.py')],
          { START_URL: `${url}/` },
          dir,
        ),
    ],
  ]

  for (const [name, bin, crawl] of crawlers) {
    it(
      `stops ${name} before 500 records with a block or challenge`,
      { skip: tool(bin) },
      async (t) => {
        const guarded = await startGuardedProxy(shop.url)
        try {
          await crawl(guarded.url)
          const denied = [401, 403, 429].reduce((n, s) => n + (guarded.statuses.get(s) ?? 0), 0)
          t.diagnostic(
            `${name}: ${guarded.leaked.size} records in the clear; statuses ${JSON.stringify(Object.fromEntries(guarded.statuses))}`,
          )
          assert.ok(guarded.leaked.size < 500, `${name} got ${guarded.leaked.size} records`)
          assert.ok(denied > 0, `${name} never saw a block or challenge`)
        } finally {
          await guarded.proxy.close()
        }
      },
    )
  }
})
