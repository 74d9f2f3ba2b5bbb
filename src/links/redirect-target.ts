/** What a redirect may lead to: https only (http too in the sandbox), on an allowed host. */
export type RedirectPolicy = {
  allowHttp: boolean
  /** Exact hosts or `*.suffix` patterns; empty means any host. */
  allowedHosts: readonly string[]
  /** URLs allowed beside the hosts (the dev entry's sandbox media). */
  alsoAllowed?: (url: URL) => boolean
}

function hostAllowed(host: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true
  return patterns.some((pattern) => (pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern))
}

/**
 * The `Location` for a media URL taken from a provider's record, or undefined when the URL is
 * not absolute, not https (or http in the sandbox), carries credentials, or names a host outside
 * the allow-list. Only URLs from records reach here, so a link can never redirect elsewhere.
 */
export function redirectTarget(raw: string, policy: RedirectPolicy): string | undefined {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return undefined
  }
  const schemeOk = url.protocol === 'https:' || (policy.allowHttp && url.protocol === 'http:')
  if (!schemeOk || url.username !== '' || url.password !== '') return undefined
  return hostAllowed(url.hostname, policy.allowedHosts) || policy.alsoAllowed?.(url) ? url.href : undefined
}
