import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { FIELD_BIT } from '../../src/core/exposure.ts'
import {
  discoverExposures,
  findPersonalValues,
  isValidNationalId,
  maskPersonalValues,
} from '../../src/http/index.ts'
import { testKeyer } from './support.ts'

describe('discovery', () => {
  it('accepts resident IDs only with a valid check digit and date', () => {
    assert.equal(isValidNationalId('11010519491231002X'), true)
    assert.equal(isValidNationalId('110105194912310021'), false)
    assert.equal(isValidNationalId('110105194913310029'), false)
  })

  it('finds mobiles, e-mails and IDs but not digits inside longer numbers', () => {
    const text =
      '{"a":"13812345678","b":"order 913812345678","c":"x@y.cn","d":"11010519491231002X","e":"110105194912310021"}'
    const found = findPersonalValues(text).map((f) => `${f.kind}:${f.value}`)
    assert.deepEqual(found, ['phone:13812345678', 'email:x@y.cn', 'national-id:11010519491231002X'])
  })

  it('counts each distinct value once, keyed, never in the clear', () => {
    const keyer = testKeyer()
    const exposures = discoverExposures('13812345678 13812345678 X@Y.cn x@y.cn 13912345678', keyer)
    assert.equal(exposures.length, 3)
    assert.equal(exposures[0]!.fields, FIELD_BIT.phone)
    assert.equal(exposures[0]!.subject, keyer.digest('phone', '13812345678'))
    assert.equal(exposures[1]!.fields, FIELD_BIT.email)
  })

  it('masks 13812345678 as 138****5678', () => {
    assert.deepEqual(maskPersonalValues('tel: 13812345678.'), {
      text: 'tel: 138****5678.',
      count: 1,
    })
  })

  it('never throws on arbitrary text and masks every phone it finds', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const { text } = maskPersonalValues(`${a} 13812345678 ${b}`)
        assert.doesNotMatch(text, /(?<!\d)13812345678(?!\d)/)
      }),
    )
  })
})
