import type { ProviderRegistry } from '../providers/types'

/** Query parameters whose values are credentials in any signed URL: signatures, policies, JWTs. */
const SECRET_PARAMS = [
  'signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
  'sig',
  'token',
  'policy',
  'key-pair-id',
  'googleaccessid',
]
/** Secrets every deployment may hold, beyond the providers' own. */
const GATEWAY_SECRETS = ['CF_API_TOKEN', 'LINK_SIGNING_KEYS']
export const REDACTED = '[redacted]'
/** What every string `text` would change beyond configured secrets contains (a superset of its patterns). */
const MAY_HOLD_CREDENTIAL = /bearer|basic|ae_|https?:\/\/|v\d{1,3}\.[A-Za-z0-9_-]{1,32}\./i

/** A gateway key (`ae_…`, any case), also right after an escape such as `%2F` (no word boundary: over-redacting is harmless). */
const GATEWAY_KEY = /ae_[A-Za-z0-9_-]{8,}/gi
/** A link token (`v2.<kid>.<payload>.<signature>`), wherever it appears. */
const LINK_TOKEN = /v\d{1,3}\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g
/** The token segment of a link path, any case (`/r/…`, `/R/…`). */
const LINK_PATH = /\/r\/[^/?#\s"]+/gi

/**
 * Text with percent-encoded unreserved characters decoded (`%5F` → `_`, `%255F` → `_`), so an
 * encoded key or token is redacted like a plain one. Only letters, digits and `-._~` (all a key or
 * a token is made of) are decoded: never a quote, backslash or newline that could break a log line.
 */
function decodeUnreserved(text: string): string {
  let out = text
  for (let i = 0; i < 3; i += 1) {
    const next = out.replace(/%25(?=[0-9A-Fa-f]{2})/g, '%').replace(/%([0-9A-Fa-f]{2})/g, (encoded, hex: string) => {
      const ch = String.fromCharCode(Number.parseInt(hex, 16))
      return /^[A-Za-z0-9._~-]$/.test(ch) ? ch : encoded
    })
    if (next === out) break
    out = next
  }
  return out
}

/** Link tokens and gateway keys replaced wherever they appear. */
function scrub(text: string): string {
  return text.replace(LINK_TOKEN, REDACTED).replace(GATEWAY_KEY, REDACTED)
}

export type Redactor = {
  /** A URL (or path) with credential query values and link tokens replaced, for logs. */
  url(url: string): string
  /** Text with every configured secret, bearer token, gateway key and signed-URL secret replaced. */
  text(text: string, env: object): string
  /** Every configured secret value (and each key inside LINK_SIGNING_KEYS), longest first. */
  secrets(env: object): string[]
}

/**
 * The redaction rules of one gateway: the generic ones plus what each provider declares (its
 * secrets, and credential parameters of its media URLs). `extraSecrets` names more vars to redact
 * (the dev entry's development key).
 */
export function createRedactor(providers: ProviderRegistry, extraSecrets: readonly string[] = []): Redactor {
  const params = new Set([...SECRET_PARAMS, ...providers.list.flatMap((p) => p.secretUrlParams ?? [])].map((name) => name.toLowerCase()))
  const names = [...providers.list.flatMap((p) => [...p.secrets, ...(p.optionalSecrets ?? [])]), ...GATEWAY_SECRETS, ...extraSecrets]
  const byEnv = new WeakMap<object, string[]>()

  const url = (raw: string): string => {
    const [path = '', query] = raw.split('?', 2)
    const safePath = scrub(decodeUnreserved(path).replace(LINK_PATH, `/r/${REDACTED}`))
    if (query === undefined) return safePath
    const search = new URLSearchParams(query)
    for (const name of [...search.keys()]) if (params.has(name.toLowerCase())) search.set(name, REDACTED)
    return scrub(`${safePath}?${decodeUnreserved(search.toString()).replaceAll(encodeURIComponent(REDACTED), REDACTED)}`)
  }

  const secrets = (env: object): string[] => {
    let found = byEnv.get(env)
    if (!found) {
      const vars = env as Record<string, unknown>
      const raw = names.map((name) => vars[name])
      try {
        raw.push(...Object.values(JSON.parse(typeof vars.LINK_SIGNING_KEYS === 'string' ? vars.LINK_SIGNING_KEYS : '{}') as Record<string, unknown>))
      } catch {
        // malformed key ring: its raw value is already listed
      }
      found = raw.filter((s): s is string => typeof s === 'string' && s.length >= 6 && s !== 'sandbox').sort((a, b) => b.length - a.length)
      byEnv.set(env, found)
    }
    return found
  }

  const text = (input: string, env: object): string => {
    let out = decodeUnreserved(input)
    for (const secret of secrets(env)) out = out.replaceAll(secret, REDACTED)
    // Most log strings hold nothing the patterns below would replace: one test spares their passes.
    if (!MAY_HOLD_CREDENTIAL.test(out)) return out
    return scrub(out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`).replace(/https?:\/\/[^\s"'<>]+/g, (u) => url(u)))
  }

  return { url, text, secrets }
}
