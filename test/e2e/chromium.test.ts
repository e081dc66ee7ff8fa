// A real browser (Debian Chromium driven by playwright-core) browsing the proxied shop like a
// person passes; when the guard challenges it, its JavaScript solves the proof of work, gets the
// pass cookie and lands on the page it asked for. Under CI=true a missing Chromium fails.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser } from 'playwright-core'
import { compileCatalogue } from '../../src/core/index.ts'
import { createGuard } from '../../src/http/index.ts'
import { createKeyer } from '../../src/keyer/index.ts'
import { createReverseProxy } from '../../src/proxy/index.ts'
import { RecordingEngine } from '../http/support.ts'
import { startGuardedProxy, startShop } from './support.ts'

const CHROMIUM = '/usr/bin/chromium'
const skip =
  !existsSync(CHROMIUM) && process.env['CI'] !== 'true'
    ? 'Chromium is not installed (apt-get install -y chromium); CI installs it'
    : false

describe('Chromium through the proxy', { skip }, () => {
  let shop: { server: Server; url: string }
  let browser: Browser
  before(async () => {
    shop = await startShop()
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  })
  after(async () => {
    await browser?.close()
    await new Promise<void>((r) => shop.server.close(() => r()))
  })

  it('lets a person browse a dozen pages without noticing anything', async (t) => {
    const guarded = await startGuardedProxy(shop.url)
    const context = await browser.newContext({ locale: 'zh-CN' })
    try {
      const page = await context.newPage()
      const home = await page.goto(`${guarded.url}/`)
      assert.equal(home!.status(), 200)
      for (let i = 0; i < 12; i++) {
        // Click a profile link, as a person would, then come back now and then.
        const links = page.locator('a[href^="/users/"]')
        await links.nth(i % (await links.count())).click()
        await page.waitForLoadState('load')
        assert.match(await page.title(), /^User \d+$/)
        if (i % 4 === 3) await page.goto(`${guarded.url}/`)
      }
      t.diagnostic(
        `statuses seen by the guard: ${JSON.stringify(Object.fromEntries(guarded.statuses))}`,
      )
      assert.deepEqual(
        [...guarded.statuses.keys()].filter((s) => s >= 400 && s !== 404),
        [],
      )
      assert.ok((await page.locator('text=Phone: 138').count()) >= 0)
    } finally {
      await context.close()
      await guarded.proxy.close()
    }
  })

  it('solves the challenge page and lands on the page it asked for', async () => {
    const engine = new RecordingEngine()
    engine.verdicts.set('ip:127.0.0.1', 'challenge')
    const guard = createGuard({
      engine,
      keyer: createKeyer('e2e-chromium-secret-0123456789'),
      catalogue: compileCatalogue([
        {
          route: 'GET /users/:userId',
          resource: 'page',
          exposes: [{ subject: 'user:{userId}', fields: ['id', 'name', 'phone'] }],
        },
      ]),
      challenge: { secret: 'e2e-challenge-secret-0123456789', difficultyBits: 14 },
    })
    const proxy = createReverseProxy({ upstream: shop.url, guard })
    const url = await proxy.listen('127.0.0.1', 0)
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      const first = await page.goto(`${url}/users/42`)
      assert.equal(first!.status(), 403)
      // The interstitial's script solves the proof and reloads the same URL by itself, so the
      // URL cannot tell the two pages apart: wait for the page's own title instead.
      await page.waitForFunction("document.title === 'User 42'", undefined, { timeout: 60_000 })
      assert.equal(await page.title(), 'User 42')
      // Served masked: the pass proves a browser, not innocence.
      const text = await page.locator('body').innerText()
      assert.match(text, /Phone: 138\*\*\*\*0042/)
      const cookies = await context.cookies()
      assert.ok(cookies.some((c) => c.name === 'hg_pass' && c.httpOnly))
      // A client without the cookie (same address) is still challenged.
      const bare = await fetch(`${url}/users/43`, { headers: { accept: 'text/html' } })
      assert.equal(bare.status, 403)
      await bare.arrayBuffer()
    } finally {
      await context.close()
      await proxy.close()
    }
  })
})
