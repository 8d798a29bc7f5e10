import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  ca?: Buffer;
}

/** TLS 1.2 and 1.3 only: what Okta and Entra speak, and nothing older. */
export const TLS_VERSIONS = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } as const;

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(
      `Cannot read the TLS ${what} ${file} (${what === 'key' ? 'TLS_KEY_FILE' : what === 'certificate' ? 'TLS_CERT_FILE' : 'TLS_CA_FILE'}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** Reads and checks the pair (a key that does not match its certificate is refused here, naming both files). */
export function readTls(tls: Config['server']['tls']): TlsMaterial | undefined {
  if (!tls.certFile && !tls.keyFile) return undefined;
  if (!tls.certFile || !tls.keyFile) throw new ConfigError('TLS needs both TLS_CERT_FILE and TLS_KEY_FILE');
  const material: TlsMaterial = {
    cert: read(tls.certFile, 'certificate'),
    key: read(tls.keyFile, 'key'),
    ...(tls.caFile ? { ca: read(tls.caFile, 'chain') } : {}),
  };
  try {
    createSecureContext({ ...material, ...TLS_VERSIONS });
  } catch (err) {
    throw new ConfigError(`The TLS key ${tls.keyFile} and certificate ${tls.certFile} cannot be used together: ${(err as Error).message}`);
  }
  return material;
}

/**
 * Serves a new certificate without dropping a connection: open connections keep the
 * context they began with, new ones get the new one. Called on SIGHUP and when a file
 * changes (polled, so a secret volume's atomic swap is seen too). A bad pair is logged
 * and the current one stays.
 */
export class TlsReloader {
  private readonly files: string[];

  constructor(
    private readonly server: TlsServer,
    private readonly tls: Config['server']['tls'],
    private readonly logger: Logger,
  ) {
    this.files = [tls.certFile, tls.keyFile, tls.caFile].filter((f): f is string => f !== undefined);
  }

  reload(why: string): boolean {
    try {
      const material = readTls(this.tls);
      if (!material) return false;
      this.server.setSecureContext({ ...material, ...TLS_VERSIONS });
      this.logger.info({ why, certFile: this.tls.certFile }, 'TLS certificate reloaded');
      return true;
    } catch (err) {
      this.logger.error({ why, err: (err as Error).message }, 'TLS reload failed; the current certificate stays');
      return false;
    }
  }

  watch(intervalMs = 1000): void {
    for (const f of this.files) watchFile(f, { interval: intervalMs }, (cur, prev) => cur.mtimeMs !== prev.mtimeMs && this.reload(`${f} changed`));
  }

  close(): void {
    for (const f of this.files) unwatchFile(f);
  }
}
