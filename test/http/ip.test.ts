import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { isHarvestGuardError as isHarvestGuardErrorCode } from '../../src/core/errors.ts'
import { createCidrMatcher, normalizeIp, parseIp, subnetOf } from '../../src/http/index.ts'

describe('ip', () => {
  it('normalises IPv4, IPv4-mapped and compressed IPv6 spellings', () => {
    assert.equal(normalizeIp('::ffff:127.0.0.1'), '127.0.0.1')
    assert.equal(normalizeIp('203.0.113.7'), '203.0.113.7')
    assert.equal(normalizeIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1')
    assert.equal(normalizeIp('[::1]'), '::1')
    assert.equal(normalizeIp('fe80::1%eth0'), 'fe80::1')
    assert.equal(normalizeIp('256.1.1.1'), undefined)
    assert.equal(normalizeIp('1:2:3:4:5:6:7:8:9'), undefined)
    assert.equal(normalizeIp('hello'), undefined)
  })

  it('names the /24 of IPv4 and the /48 of IPv6', () => {
    assert.equal(subnetOf(parseIp('203.0.113.77')!), '203.0.113.0/24')
    assert.equal(subnetOf(parseIp('2001:db8:1:2:3::9')!), '2001:db8:1::/48')
  })

  it('matches addresses against IPv4 and IPv6 ranges', () => {
    const m = createCidrMatcher(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1/128'])
    assert.equal(m.has('10.200.3.4'), true)
    assert.equal(m.has('::ffff:10.1.1.1'), true)
    assert.equal(m.has('11.0.0.1'), false)
    assert.equal(m.has('192.168.1.7'), true)
    assert.equal(m.has('192.168.1.8'), false)
    assert.equal(m.has('2001:db8:ffff::1'), true)
    assert.equal(m.has('2001:db9::1'), false)
    assert.equal(m.has('::1'), true)
    assert.equal(m.has('not an ip'), false)
    assert.equal(createCidrMatcher(['0.0.0.0/0']).has('8.8.8.8'), true)
    assert.equal(createCidrMatcher(['0.0.0.0/0']).has('2001:db8::1'), false)
  })

  it('rejects a bad range naming the entry', () => {
    assert.throws(
      () => createCidrMatcher(['10.0.0.0/8', '10.0.0.0/33'], 'trustedProxies'),
      (e: unknown) =>
        isHarvestGuardErrorCode(e, 'HG_HTTP_BAD_CIDR') && /trustedProxies\[1\]/.test(String(e)),
    )
  })

  it('never throws on arbitrary text and round-trips what it accepts', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.ipV4(), fc.ipV6()), (s) => {
        const n = normalizeIp(s)
        if (n !== undefined) assert.equal(normalizeIp(n), n)
      }),
    )
    fc.assert(fc.property(fc.ipV6(), (s) => assert.notEqual(normalizeIp(s), undefined)))
  })
})
