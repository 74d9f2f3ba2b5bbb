// Optional gateway secrets, which wrangler.toml [secrets] required does not name and `wrangler types`
// therefore does not type (provider secrets: src/generated/provider-secrets.d.ts).
interface Env {
  /** Cache Purge permission on CF_ZONE_ID: with it, POST /purge reaches every data centre. */
  CF_API_TOKEN?: string
}
declare namespace Cloudflare {
  interface Env {
    CF_API_TOKEN?: string
  }
}
