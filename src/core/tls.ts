// TLS to database servers, the same for every SQL connector: libpq's URL parameters (sslmode,
// sslrootcert), the Node TLS options they mean, and TLS failures as one-line FerryErrors.
import { existsSync, readFileSync } from 'node:fs';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { FerryError } from './errors.js';

/**
 * require: encrypted, the certificate is not checked; verify-ca: signed by a trusted CA;
 * verify-full: signed by a trusted CA and issued for the host connected to.
 */
export type TlsMode = 'require' | 'verify-ca' | 'verify-full';

export interface TlsSettings {
  /** the mode in effect (require with a CA file checks the CA, as in libpq) */
  mode: TlsMode;
  /** the CA file the chain is checked against; undefined: the CAs this machine trusts */
  caFile?: string;
  ca?: string;
}

const NO_TLS = new Set(['disable', 'allow', 'prefer']);
const MODES = new Set<string>(['require', 'verify-ca', 'verify-full']);

function readCa(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FerryError(
      'TLS_FAILED',
      `cannot read the CA file ${file} named by sslrootcert: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'check the sslrootcert path and that ferry may read the file',
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new FerryError(
      'TLS_FAILED',
      `the CA file ${file} named by sslrootcert holds no PEM certificate`,
      'point sslrootcert at the CA certificate in PEM form (-----BEGIN CERTIFICATE-----)',
    );
  return pem;
}

/**
 * The TLS an endpoint asks for, or undefined for none. `where` names the endpoint in errors
 * (a redacted URL). `defaultCaFile` is checked against when no sslrootcert is given and the
 * file exists (libpq's ~/.postgresql/root.crt). sslrootcert=system means the machine's CAs.
 * Unlike libpq, allow and prefer connect without TLS: ferry never guesses, ask for require.
 */
export function tlsSettings(
  params: { sslmode?: string | null; sslrootcert?: string | null },
  where: string,
  defaultCaFile?: string,
): TlsSettings | undefined {
  const rootCert = params.sslrootcert || undefined;
  // a CA named without a mode means the CA is to be checked: the safe reading of the URL
  const asked = params.sslmode || (rootCert ? 'verify-full' : 'disable');
  const mode = asked === 'no-verify' ? 'require' : asked;
  if (NO_TLS.has(mode)) return undefined;
  if (!MODES.has(mode))
    throw new FerryError(
      'URL_INVALID',
      `unknown sslmode "${asked}" in ${where}`,
      'use sslmode=disable, require, verify-ca or verify-full',
    );
  if (rootCert === 'system') {
    if (mode === 'require')
      throw new FerryError(
        'URL_INVALID',
        `sslrootcert=system with sslmode=require in ${where} would not check the certificate`,
        'use sslmode=verify-full (or verify-ca) with sslrootcert=system',
      );
    return { mode: mode as TlsMode };
  }
  const caFile = rootCert ?? (defaultCaFile && existsSync(defaultCaFile) ? defaultCaFile : undefined);
  if (!caFile) return { mode: mode as TlsMode };
  // as in libpq, a CA file given with require is checked against (verify-ca)
  return { mode: mode === 'require' ? 'verify-ca' : (mode as TlsMode), caFile, ca: readCa(caFile) };
}

/** The options of Node's tls.connect for the settings. */
export function nodeTlsOptions(s: TlsSettings): ConnectionOptions {
  if (s.mode === 'require') return { rejectUnauthorized: false };
  return {
    rejectUnauthorized: true,
    ca: s.ca,
    ...(s.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}

interface TlsLikeError {
  code?: string;
  message?: string;
  cert?: PeerCertificate;
}

/** OpenSSL's verdicts on a chain that does not lead to a trusted CA. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);

/** OpenSSL's messages for its codes: mysql2 replaces the code by HANDSHAKE_SSL_ERROR and keeps the message. */
const OPENSSL_MESSAGES: Record<string, string> = {
  'unable to verify the first certificate': 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'unable to get issuer certificate': 'UNABLE_TO_GET_ISSUER_CERT',
  'unable to get local issuer certificate': 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'self-signed certificate in certificate chain': 'SELF_SIGNED_CERT_IN_CHAIN',
  'self-signed certificate': 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'certificate signature failure': 'CERT_SIGNATURE_FAILURE',
  'certificate not trusted': 'CERT_UNTRUSTED',
  'certificate rejected': 'CERT_REJECTED',
  'invalid ca certificate': 'INVALID_CA',
  'certificate has expired': 'CERT_HAS_EXPIRED',
  'certificate is not yet valid': 'CERT_NOT_YET_VALID',
};

function opensslCode(e: TlsLikeError): string {
  if (e.code !== 'HANDSHAKE_SSL_ERROR') return e.code ?? '';
  const message = (e.message ?? '').toLowerCase().replace('self signed', 'self-signed');
  if (message.includes("does not match certificate's altnames")) return 'ERR_TLS_CERT_ALTNAME_INVALID';
  return OPENSSL_MESSAGES[message] ?? e.code;
}

/** The names a certificate is issued for. */
function certNames(cert: PeerCertificate | undefined): string[] {
  const alt = (cert?.subjectaltname ?? '')
    .split(/,\s*/)
    .map((n) => n.replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean);
  if (alt.length > 0) return alt;
  const cn = cert?.subject?.CN;
  return cn ? [String(cn)] : [];
}

export interface TlsPeer {
  /** "PostgreSQL", "MySQL" */
  engine: string;
  host: string;
  port: number;
  tls?: TlsSettings;
}

/** A TLS failure of connecting as a FerryError (code TLS_FAILED); undefined for other errors. */
export function tlsError(err: unknown, peer: TlsPeer): FerryError | undefined {
  const e = err as TlsLikeError;
  if (!e || typeof e !== 'object') return undefined;
  const code = opensslCode(e);
  const at = `${peer.engine} at ${peer.host}:${peer.port}`;
  const fail = (message: string, action: string) =>
    new FerryError('TLS_FAILED', `${at}: ${message}`, action, { cause: err });
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT' || /server does not support SSL/i.test(e.message ?? ''))
    return fail(
      `the server does not support TLS, and sslmode=${peer.tls?.mode ?? 'require'} requires it`,
      'turn TLS on in the server, or use sslmode=disable only on a network you trust',
    );
  if (UNTRUSTED.has(code))
    return fail(
      `the server's certificate is not signed by ${peer.tls?.caFile ? `the CA in ${peer.tls.caFile}` : 'a CA this machine trusts'} (${code})`,
      "set sslrootcert to the file of the CA that signed the server's certificate (the database's operator or provider publishes it)",
    );
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = certNames(e.cert);
    return fail(
      `the server's certificate is for ${names.length > 0 ? names.join(', ') : 'other names'}, not ${peer.host}`,
      `connect by a name the certificate holds${names.length > 0 ? ` (${names[0]})` : ''}, or use sslmode=verify-ca to check the CA but not the host name`,
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return fail(
      `the server's certificate ${code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet'}`,
      "renew the server's certificate, or check this machine's clock",
    );
  if (code === 'EPROTO' || code === 'HANDSHAKE_SSL_ERROR' || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))
    return fail(
      `the TLS handshake failed: ${(e.message ?? code).split('\n')[0]}`,
      'check that the server accepts TLS 1.2 or later and that the sslmode suits it',
    );
  return undefined;
}
