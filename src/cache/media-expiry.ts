/**
 * Reads when a signed media URL stops working, from every format listed in PROVIDERS.md:
 * CloudFront canned (`Expires=`) and custom (`Policy=`), S3 SigV4 (`X-Amz-Date` + `X-Amz-Expires`),
 * GCS V4 (`X-Goog-Date` + `X-Goog-Expires`) and V2 (`Expires=`), Azure SAS (`se=`), JWT `token=` (`exp`).
 * Returns milliseconds since the epoch, or undefined when the URL shows no expiry.
 */
export function mediaUrlExpiry(url: string): number | undefined {
  let params: URLSearchParams
  try {
    params = new URL(url).searchParams
  } catch {
    return undefined
  }
  const get = (name: string): string | undefined => {
    for (const [k, v] of params) if (k.toLowerCase() === name) return v
    return undefined
  }
  const candidates = [
    unixSeconds(get('expires')),
    cloudFrontPolicy(get('policy')),
    dateplus(get('x-amz-date'), get('x-amz-expires')),
    dateplus(get('x-goog-date'), get('x-goog-expires')),
    iso(get('se')),
    jwtExp(get('token')),
  ].filter((t): t is number => t !== undefined)
  return candidates.length > 0 ? Math.min(...candidates) : undefined
}

function unixSeconds(value: string | undefined): number | undefined {
  if (!value || !/^\d{1,12}$/.test(value)) return undefined
  return Number(value) * 1000
}

/** `YYYYMMDDTHHMMSSZ` plus a lifetime in seconds. */
function dateplus(date: string | undefined, seconds: string | undefined): number | undefined {
  const m = date ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date) : null
  if (!m || !seconds || !/^\d{1,9}$/.test(seconds)) return undefined
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number]
  return Date.UTC(y, mo - 1, d, h, mi, s) + Number(seconds) * 1000
}

function iso(value: string | undefined): number | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined
  const t = Date.parse(value)
  return Number.isNaN(t) ? undefined : t
}

/** Standard base64 (padding optional) to a binary string, or undefined. */
function decodeBase64(standard: string): string | undefined {
  const bare = standard.replace(/=+$/, '')
  try {
    return atob(bare.padEnd(Math.ceil(bare.length / 4) * 4, '='))
  } catch {
    return undefined
  }
}

function cloudFrontPolicy(value: string | undefined): number | undefined {
  // CloudFront's URL-safe alphabet: + → -, = → _, / → ~
  const json = value ? decodeBase64(value.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/')) : undefined
  if (!json) return undefined
  try {
    const policy = JSON.parse(json) as { Statement?: { Condition?: { DateLessThan?: Record<string, unknown> } }[] }
    const epoch = policy.Statement?.[0]?.Condition?.DateLessThan?.['AWS:EpochTime']
    return typeof epoch === 'number' ? epoch * 1000 : unixSeconds(typeof epoch === 'string' ? epoch : undefined)
  } catch {
    return undefined
  }
}

function jwtExp(value: string | undefined): number | undefined {
  const payload = value?.split('.')[1]
  const json = payload ? decodeBase64(payload.replace(/-/g, '+').replace(/_/g, '/')) : undefined
  if (!json) return undefined
  try {
    const exp = (JSON.parse(json) as { exp?: unknown }).exp
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined
  } catch {
    return undefined
  }
}
