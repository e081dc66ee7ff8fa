import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LAB_NOT_LOOPBACK, assertLoopback, isLoopback, runRealtime } from '../../src/lab/index.ts'

describe('loopback-only rule', () => {
  for (const host of [
    '10.0.0.1',
    '192.168.1.1',
    '8.8.8.8',
    'example.com',
    '172.16.0.1',
    '::ffff:8.8.8.8',
    '2001:db8::1',
    '0.0.0.0',
    '128.0.0.1',
  ]) {
    it(`refuses ${host}`, () => {
      assert.equal(isLoopback(host), false)
      assert.throws(() => assertLoopback(host), { code: LAB_NOT_LOOPBACK })
      assert.throws(
        () => assertLoopback(`http://${host.includes(':') ? `[${host}]` : host}:8080/`),
        { code: LAB_NOT_LOOPBACK },
      )
    })
  }
  for (const host of ['127.0.0.1', '127.5.6.7', '127.255.255.254', '::1', 'localhost', '[::1]']) {
    it(`accepts ${host}`, () => {
      assert.equal(isLoopback(host), true)
      assertLoopback(host)
    })
  }
  it('accepts loopback URLs', () => {
    assertLoopback('http://127.0.0.1:8080/api')
    assertLoopback('http://[::1]:9/')
    assertLoopback('http://localhost:3000')
  })
  it('refuses a URL whose host only looks like loopback', () => {
    assert.throws(() => assertLoopback('http://127.0.0.1.example.com/'), { code: LAB_NOT_LOOPBACK })
    assert.throws(() => assertLoopback('http://user@8.8.8.8/'), { code: LAB_NOT_LOOPBACK })
  })
  it('makes the real-time runner refuse a remote target before any request', async () => {
    let started = false
    const actor = {
      id: 'x',
      profile: 'A2' as const,
      kind: 'adversary' as const,
      script: (function* () {
        started = true
        yield {
          atMs: 0,
          method: 'GET',
          path: '/',
          ip: '127.0.0.2',
          userAgent: '',
          acceptLanguage: '',
          referer: '',
          sid: '',
          apiKey: '',
          stack: 'test',
        }
      })(),
    }
    await assert.rejects(
      runRealtime({ baseUrl: 'http://93.184.216.34/', actors: [actor], startMs: 0 }),
      { code: LAB_NOT_LOOPBACK },
    )
    assert.equal(started, false)
  })
  it('makes the real-time runner refuse a non-loopback source address', async () => {
    const actor = {
      id: 'x',
      profile: 'A3' as const,
      kind: 'adversary' as const,
      script: (function* () {
        yield {
          atMs: 0,
          method: 'GET',
          path: '/',
          ip: '192.168.1.1',
          userAgent: '',
          acceptLanguage: '',
          referer: '',
          sid: '',
          apiKey: '',
          stack: 'test',
        }
      })(),
    }
    await assert.rejects(
      runRealtime({ baseUrl: 'http://127.0.0.1:9/', actors: [actor], startMs: 0 }),
      { code: LAB_NOT_LOOPBACK },
    )
  })
})
