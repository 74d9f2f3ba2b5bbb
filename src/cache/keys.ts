/** The cache tag of every key of one asset: `provider/id[/id]`, the key without its query. */
export function assetTag(key: string): string {
  return key.split('?')[0] ?? key
}
