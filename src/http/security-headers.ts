import { secureHeaders } from 'hono/secure-headers'

/**
 * The security headers every answer carries, /docs included: nosniff, no framing, no referrer,
 * same-origin resources, HSTS (a route embedded elsewhere, such as /r/, sets its own
 * Cross-Origin-Resource-Policy). The browser-page headers Hono adds by default protect nothing on
 * an API answer and would cost every cache hit a header write each. One list for both paths: Hono's
 * middleware sets it, and the memory-hit path (`hit-path.ts`) writes it into the answer it builds.
 */
export const SECURITY_HEADERS = {
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
} as const

/** Hono's `secureHeaders` set to `SECURITY_HEADERS` and nothing else; a route's own value wins. */
export const securityHeaders = () =>
  secureHeaders({
    crossOriginResourcePolicy: SECURITY_HEADERS['cross-origin-resource-policy'],
    referrerPolicy: SECURITY_HEADERS['referrer-policy'],
    strictTransportSecurity: SECURITY_HEADERS['strict-transport-security'],
    xContentTypeOptions: SECURITY_HEADERS['x-content-type-options'],
    xFrameOptions: SECURITY_HEADERS['x-frame-options'],
    overwrite: false,
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  })
