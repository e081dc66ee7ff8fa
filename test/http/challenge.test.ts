import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runInNewContext } from 'node:vm'
import { createChallenge, safeReturnPath } from '../../src/http/index.ts'

const options = { secret: 'challenge-secret-0123456789', difficultyBits: 8 }

const unescapeAttr = (s: string): string =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&amp;/g, '&')

/** Runs the interstitial's own script as a browser would and returns where it navigates. */
function solveInPage(html: string): string {
  const data =
    /<div id="hg" data-c="([^"]+)" data-bits="(\d+)" data-r="([^"]*)" data-v="([^"]+)"/.exec(html)!
  const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!
  const nav = { target: '' }
  const pending: (() => void)[] = []
  runInNewContext(script, {
    document: {
      getElementById: () => ({
        dataset: {
          c: unescapeAttr(data[1]!),
          bits: data[2],
          r: unescapeAttr(data[3]!),
          v: unescapeAttr(data[4]!),
        },
      }),
    },
    location: { replace: (url: string) => (nav.target = url) },
    setTimeout: (fn: () => void) => pending.push(fn),
    unescape,
    encodeURIComponent,
    Math,
  })
  while (nav.target === '' && pending.length > 0) pending.shift()!()
  return nav.target
}

describe('proof-of-work challenge', () => {
  it('is solved by its own page script and yields a pass for that client only', () => {
    const ch = createChallenge(options)
    const binding = 'net:127.0.0.0/24|ua1'
    const url = solveInPage(ch.page(binding, 1_000_000, '/items/1?x=2'))
    assert.match(url, /^\/\.harvestguard\/verify\?c=/)
    const query = url.slice(url.indexOf('?') + 1)
    const result = ch.verify(binding, query, 1_010_000)
    assert.equal(result.ok, true)
    if (!result.ok) return
    assert.equal(result.returnTo, '/items/1?x=2')
    assert.equal(ch.passes(binding, result.cookie, 1_020_000), true)
    assert.equal(ch.passes('net:10.0.0.0/24|ua1', result.cookie, 1_020_000), false)
    assert.equal(ch.passes(binding, result.cookie, 1_000_000 + 3_700_000), false)
    assert.equal(ch.passes(binding, `9${result.cookie}`, 1_020_000), false)
    // The proof belongs to the client it was issued to, and expires.
    assert.equal(ch.verify('net:10.0.0.0/24|ua1', query, 1_010_000).ok, false)
    assert.equal(ch.verify(binding, query, 1_000_000 + 400_000).ok, false)
  })

  it('rejects a nonce that does not meet the difficulty', () => {
    const ch = createChallenge({ ...options, difficultyBits: 20 })
    const html = ch.page('b', 5, '/')
    const c = /data-c="([^"]+)"/.exec(html)![1]!
    let rejected = 0
    for (let n = 0; n < 50; n++) if (!ch.verify('b', `c=${c}&n=${n}`, 10).ok) rejected++
    // 50 random nonces at 20 bits: passing even one has odds of 1 in ~20,000.
    assert.equal(rejected, 50)
  })

  it('redirects only within the site', () => {
    assert.equal(safeReturnPath('//evil.example/x'), '/')
    assert.equal(safeReturnPath('https://evil.example/'), '/')
    assert.equal(safeReturnPath('/\\evil'), '/')
    assert.equal(safeReturnPath('/ok?a=1'), '/ok?a=1')
  })

  it('refuses a short secret', () => {
    assert.throws(() => createChallenge({ secret: 'short' }), /at least 16/)
  })
})
