import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { ANOMALY } from '../../src/core/index.ts'
import {
  computeAnomalies,
  createAutomationTest,
  createUserAgentFacts,
} from '../../src/http/index.ts'

const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 Chromium/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'curl/8.5.0',
  'python-requests/2.32.3',
  'Scrapy/2.11.2 (+https://scrapy.org)',
  'HeadlessChrome/120.0.0.0',
  '',
]
const PLATFORMS = ['"Linux"', '"Windows"', '"macOS"', '"Android"', '"iOS"', '"Chrome OS"', 'Linux']

describe('computeAnomalies', () => {
  it('gives the same bits with the user-agent facts memo as with the automation test', () => {
    const facts = createUserAgentFacts(4)
    const automation = createAutomationTest(4)
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'HEAD', 'POST'),
        fc.option(fc.constantFrom(...AGENTS), { nil: undefined }),
        fc.option(fc.constantFrom('en-US,en;q=0.9', 'zh-CN'), { nil: undefined }),
        fc.option(fc.constantFrom('"Chromium";v="131"', '"Not_A Brand";v="24"'), {
          nil: undefined,
        }),
        fc.option(fc.constantFrom(...PLATFORMS), { nil: undefined }),
        fc.option(fc.constantFrom('0', '12'), { nil: undefined }),
        fc.boolean(),
        fc.boolean(),
        (method, ua, lang, hints, platform, length, proxy, secure) => {
          const headers: Record<string, string> = {}
          if (ua !== undefined) headers['user-agent'] = ua
          if (lang !== undefined) headers['accept-language'] = lang
          if (hints !== undefined) headers['sec-ch-ua'] = hints
          if (platform !== undefined) headers['sec-ch-ua-platform'] = platform
          if (length !== undefined) headers['content-length'] = length
          if (proxy) headers['proxy-connection'] = 'keep-alive'
          assert.equal(
            computeAnomalies(method, headers, facts, secure),
            computeAnomalies(method, headers, automation, secure),
          )
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('reads the platform a user agent claims', () => {
    const facts = createUserAgentFacts()
    assert.deepEqual(facts(AGENTS[0]!), { automation: false, chromium: true, platform: 'Linux' })
    assert.equal(facts(AGENTS[2]!).platform, 'macOS')
    assert.equal(facts(AGENTS[3]!).platform, 'iOS')
    assert.equal(facts(AGENTS[4]!).platform, 'Android')
    assert.equal(facts(AGENTS[5]!).platform, 'Chrome OS')
    assert.equal(facts('curl/8.5.0').automation, true)
    // A Linux Chrome claiming Windows in its hints is a mismatch.
    const lying = {
      'user-agent': AGENTS[0]!,
      'accept-language': 'en',
      'sec-ch-ua': '"Chromium";v="131"',
      'sec-ch-ua-platform': '"Windows"',
    }
    assert.notEqual(computeAnomalies('GET', lying, facts, false) & ANOMALY.clientHintMismatch, 0)
  })
})
