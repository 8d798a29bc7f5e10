import { Agent, request } from 'undici';

/** A receiver slower than this is a failure (retried later): a hung receiver never holds the sender. */
const TIMEOUT_MS = 10_000;

/**
 * POSTs one JSON notice. TLS is verified (undici's default, never turned off here) and
 * redirects are not followed (a 3xx is a failure): the notice goes to the configured host
 * or nowhere. Errors name the status or the network error, never the URL (Slack's and
 * Teams' carry their secret in it).
 */
export class Webhook {
  private readonly agent = new Agent({ connectTimeout: TIMEOUT_MS, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS, connections: 2 });

  constructor(private readonly url: string) {}

  async post(body: string): Promise<void> {
    let status: number;
    try {
      const res = await request(this.url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'user-agent': 'fullstory-scim-bridge' },
        dispatcher: this.agent,
      });
      status = res.statusCode;
      await res.body.dump();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(`the webhook could not be reached: ${e.code ?? e.name}`, { cause: err });
    }
    if (status < 200 || status >= 300) throw new Error(`the webhook answered HTTP ${status}`);
  }

  /** Ends at once, a POST in flight included (it fails, and the notice is tried again). */
  async close(): Promise<void> {
    await this.agent.destroy();
  }
}
