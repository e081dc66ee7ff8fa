import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ANOMALY } from '../../src/core/event.ts'
import { createPrincipalExtractor, type RequestFacts } from '../../src/http/index.ts'
import { testKeyer } from './support.ts'

const keyer = testKeyer()
const browser = {
  host: 'shop.test',
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'text/html',
  'accept-language': 'zh-CN,zh;q=0.9',
  'accept-encoding': 'gzip, br',
}

function facts(over: Partial<RequestFacts> & { headers?: RequestFacts['headers'] }): RequestFacts {
  return { method: 'GET', url: '/', remoteAddress: '127.0.0.5', headers: browser, ...over }
}

const kinds = (ps: readonly string[]): string[] => ps.map((p) => p.slice(0, p.indexOf(':')))

describe('principals from HTTP', () => {
  it('ignores a spoofed X-Forwarded-For from a peer that is not a trusted proxy', () => {
    const extract = createPrincipalExtractor({ keyer })
    const plain = extract(facts({}))
    const spoofed = extract(
      facts({ headers: { ...browser, 'x-forwarded-for': '203.0.113.9, 198.51.100.1' } }),
    )
    assert.equal(spoofed.client.ip, '127.0.0.5')
    assert.deepEqual(spoofed.principals.slice(0, 2), plain.principals.slice(0, 2))
    // Even with proxies configured, a peer outside them is not believed.
    const withProxies = createPrincipalExtractor({ keyer, trustedProxies: ['10.0.0.0/8'] })
    const fromOutside = withProxies(
      facts({ headers: { ...browser, 'x-forwarded-for': '203.0.113.9' } }),
    )
    assert.equal(fromOutside.client.ip, '127.0.0.5')
  })

  it('walks X-Forwarded-For right to left past trusted proxies', () => {
    const extract = createPrincipalExtractor({ keyer, trustedProxies: ['10.0.0.0/8'] })
    const id = extract(
      facts({
        remoteAddress: '::ffff:10.0.0.2',
        headers: { ...browser, 'x-forwarded-for': '1.1.1.1, 203.0.113.9, 10.1.2.3' },
      }),
    )
    // 1.1.1.1 was written by the client itself; the first untrusted hop is the real client.
    assert.equal(id.client.ip, '203.0.113.9')
    assert.equal(id.principals[0], 'ip:203.0.113.9')
    assert.equal(id.principals[1], 'net:203.0.113.0/24')
  })

  it('reads RFC 7239 Forwarded when told to', () => {
    const extract = createPrincipalExtractor({
      keyer,
      trustedProxies: ['127.0.0.0/8'],
      forwardedHeader: 'forwarded',
    })
    const id = extract(
      facts({ headers: { ...browser, forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https' } }),
    )
    assert.equal(id.principals[0], 'ip:2001:db8:cafe::17')
    assert.equal(id.principals[1], 'net:2001:db8:cafe::/48')
  })

  it('resolves accounts from a header, a JWT sub, or a session lookup, digested', () => {
    const byHeader = createPrincipalExtractor({
      keyer,
      account: { kind: 'header', header: 'X-User' },
    })
    const a = byHeader(facts({ headers: { ...browser, 'x-user': 'u-42' } }))
    assert.equal(a.hasAccount, true)
    const account = a.principals.find((p) => p.startsWith('account:'))!
    assert.doesNotMatch(account, /u-42/)

    const payload = Buffer.from(JSON.stringify({ sub: 'u-42', exp: 1 })).toString('base64url')
    const byJwt = createPrincipalExtractor({ keyer, account: { kind: 'jwt' } })
    const b = byJwt(facts({ headers: { ...browser, authorization: `Bearer h.${payload}.sig` } }))
    assert.equal(
      b.principals.find((p) => p.startsWith('account:')),
      account,
    )
    // The JWT is the login, not a partner key.
    assert.equal(
      b.principals.some((p) => p.startsWith('key:')),
      false,
    )

    const byLookup = createPrincipalExtractor({
      keyer,
      account: {
        kind: 'lookup',
        cookie: 'sid',
        lookup: (sid) => (sid === 's1' ? 'u-42' : undefined),
      },
    })
    const c = byLookup(facts({ headers: { ...browser, cookie: 'theme=dark; sid=s1' } }))
    assert.equal(
      c.principals.find((p) => p.startsWith('account:')),
      account,
    )
    assert.deepEqual(kinds(c.principals), ['ip', 'net', 'account', 'session', 'device'])
    assert.equal(byLookup(facts({ headers: { ...browser, cookie: 'sid=zz' } })).hasAccount, false)
  })

  it('digests API keys from a bearer token or a header', () => {
    const extract = createPrincipalExtractor({ keyer })
    const a = extract(facts({ headers: { ...browser, authorization: 'Bearer sk_live_123' } }))
    const b = extract(facts({ headers: { ...browser, 'x-api-key': 'sk_live_123' } }))
    const key = a.principals.find((p) => p.startsWith('key:'))!
    assert.ok(key)
    assert.doesNotMatch(key, /sk_live/)
    assert.equal(
      b.principals.find((p) => p.startsWith('key:')),
      key,
    )
  })

  it('keeps one device across requests of one browser and tells browsers apart', () => {
    const extract = createPrincipalExtractor({ keyer, tlsFingerprintHeader: 'x-ja4' })
    const device = (h: RequestFacts['headers']): string =>
      extract(facts({ headers: h })).principals.find((p) => p.startsWith('device:'))!
    const d1 = device({ ...browser, cookie: 'a=1', referer: 'http://shop.test/' })
    const d2 = device({ ...browser })
    assert.equal(d1, d2)
    assert.notEqual(device({ ...browser, 'accept-language': 'en-US' }), d1)
    assert.notEqual(device({ ...browser, 'x-ja4': 't13d1516h2_8daaf6152771_e5627efa2ab1' }), d1)
  })

  it('flags automation agents and missing browser headers', () => {
    const extract = createPrincipalExtractor({ keyer })
    const curl = extract(facts({ headers: { 'user-agent': 'curl/8.5.0', accept: '*/*' } }))
    assert.equal(curl.client.anomalies & ANOMALY.automationAgent, ANOMALY.automationAgent)
    assert.equal(curl.client.anomalies & ANOMALY.noAcceptLanguage, ANOMALY.noAcceptLanguage)
    const none = extract(facts({ headers: { 'content-length': '0' } }))
    assert.equal(none.client.anomalies & ANOMALY.noUserAgent, ANOMALY.noUserAgent)
    assert.equal(none.client.anomalies & ANOMALY.foreignHeaders, ANOMALY.foreignHeaders)
    const lying = extract(
      facts({
        headers: {
          ...browser,
          'sec-ch-ua': '"Chromium";v="131"',
          'sec-ch-ua-platform': '"Windows"',
        },
      }),
    )
    assert.equal(lying.client.anomalies & ANOMALY.clientHintMismatch, ANOMALY.clientHintMismatch)
    assert.equal(extract(facts({})).client.anomalies, 0)
  })
})
