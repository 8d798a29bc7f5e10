import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  caCert: string;
  /** Issues a certificate for 127.0.0.1/localhost; returns the PEM files' paths. */
  issue(name: string): { certFile: string; keyFile: string; serial: string };
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** A throwaway CA made with the machine's openssl, for TLS tests that trust only it. */
export function makeCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'fsb-ca-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=fsb test CA'], dir);
  let n = 0;
  return {
    dir,
    caCert: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    issue(name) {
      const base = `${name}-${n++}`;
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`], dir);
      const ext = join(dir, `${base}.ext`);
      execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ${ext}`]);
      openssl(
        ['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${base}.pem`, '-days', '2', '-extfile', ext],
        dir,
      );
      const serial = openssl(['x509', '-in', `${base}.pem`, '-noout', '-serial'], dir)
        .trim()
        .split('=')[1]!;
      return { certFile: join(dir, `${base}.pem`), keyFile: join(dir, `${base}.key`), serial };
    },
  };
}
