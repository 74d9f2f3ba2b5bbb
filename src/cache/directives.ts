/** What the client asked of the cache in its request `Cache-Control`. */
export type Directives = {
  /** `no-cache` or `max-age=0`: revalidate with the provider before answering. */
  revalidate: boolean
  /** `only-if-cached`: answer from a cache or 504, never call the provider. */
  onlyIfCached: boolean
}

export const NO_DIRECTIVES: Directives = { revalidate: false, onlyIfCached: false }

/** Reads the request directives asset-edge honours; anything else is ignored. */
export function parseDirectives(header: string | null | undefined): Directives {
  if (!header) return NO_DIRECTIVES
  const parts = header
    .toLowerCase()
    .split(',')
    .map((p) => p.trim())
  return {
    revalidate: parts.some((p) => p === 'no-cache' || p === 'max-age=0' || p === 'no-store'),
    onlyIfCached: parts.includes('only-if-cached'),
  }
}
