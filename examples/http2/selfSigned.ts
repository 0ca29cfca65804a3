import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyAndCert {
  key: Buffer;
  cert: Buffer;
}

/**
 * A throwaway self-signed certificate for localhost and 127.0.0.1, made with `openssl`
 * (Node can make keys but not X.509 certificates). Browsers need TLS for HTTP/2; for
 * local use only: they will warn unless told to accept it.
 */
export function selfSignedCertificate(days = 2): KeyAndCert {
  const dir = mkdtempSync(join(tmpdir(), 'gripstream-h2-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyPath, '-out', certPath, '-days', String(days), '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { key: readFileSync(keyPath), cert: readFileSync(certPath) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
