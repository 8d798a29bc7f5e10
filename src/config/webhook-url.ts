/**
 * What is wrong with a webhook URL, said without the URL (Slack's and Teams' carry their
 * secret in the path): not a URL, not HTTPS (plain HTTP only to this machine, a sidecar),
 * credentials in it, or a host off the allowlist.
 */
export function webhookProblem(url: string | undefined, allowed: readonly string[]): string | undefined {
  if (url === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) return `must be https:// (plain http only to localhost), not ${u.protocol}`;
  if (u.username || u.password) return 'must not carry a user name or password';
  if (allowed.length > 0 && !allowed.includes(u.hostname.toLowerCase())) return `its host ${u.hostname} is not in NOTIFY_ALLOWED_HOSTS (${allowed.join(', ')})`;
  return undefined;
}
