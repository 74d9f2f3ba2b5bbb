import { describe, expect, it } from 'vitest'
import spec from '../src/generated/asset-edge.openapi.json'
import { ERROR_CODES } from '../src/http/errors'

/** The codes the gateway's OpenAPI document lists under `Problem`, by status: "* 404 — `a`, `b` (…);". */
function specCodes(): Map<string, number> {
  const description = (spec as { components: { schemas: { Problem: { description: string } } } }).components.schemas.Problem.description
  const codes = new Map<string, number>()
  for (const bullet of description.split(/\n\s*\* /).slice(1)) {
    const status = /^(\d{3}) — /.exec(bullet)?.[1]
    if (!status) continue
    for (const [, code] of bullet.matchAll(/`([a-z_]+)`/g)) codes.set(code ?? '', Number(status))
  }
  return codes
}

describe('error codes', () => {
  it('the closed registry and the OpenAPI document list the same codes with the same statuses, both ways', () => {
    const documented = specCodes()
    expect(documented.size).toBeGreaterThan(20)
    expect(Object.fromEntries(documented)).toEqual({ ...ERROR_CODES })
  })
})
