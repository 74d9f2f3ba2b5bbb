import { describe, expect, it } from 'vitest'
import { Lru } from '../src/cache/lru'

describe('Lru', () => {
  it('evicts the least recently used past max entries', () => {
    const lru = new Lru<string, number>({ max: 2 })
    lru.set('a', 1)
    lru.set('b', 2)
    expect(lru.get('a')).toBe(1) // a is now the most recent
    lru.set('c', 3)
    expect([...lru.keys()]).toEqual(['a', 'c'])
    expect(lru.get('b')).toBeUndefined()
  })

  it('keeps the sum of sizes within maxSize, refuses a value larger than the bound, and replaces in place', () => {
    const lru = new Lru<string, string>({ max: 100, maxSize: 10, size: (v) => v.length })
    lru.set('a', '1234')
    lru.set('b', '1234')
    lru.set('c', '1234') // 12 > 10: a goes
    expect([...lru.keys()]).toEqual(['b', 'c'])
    expect(lru.calculatedSize).toBe(8)
    lru.set('big', '12345678901')
    expect(lru.get('big')).toBeUndefined()
    expect(lru.calculatedSize).toBe(8)
    lru.set('b', '12')
    expect(lru.calculatedSize).toBe(6)
    expect(lru.size).toBe(2)
    lru.delete('c')
    lru.clear()
    expect([lru.size, lru.calculatedSize]).toEqual([0, 0])
  })
})
