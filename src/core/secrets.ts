// Secrets are never literal in plans: ${env:NAME} and ${file:path} references, resolved here
// and only here (URLs at connect time, target options, transform keys, the backup key) when a
// command needs them, and every resolved value is remembered so `redact` can scrub it from any
// text ferry writes (logs, errors, state, reports).
import { createHash, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FerryError } from './errors.js';

const known = new Set<string>();

export function registerSecret(value: string): void {
  if (value.length >= 3) {
    known.add(value);
    known.add(encodeURIComponent(value));
  }
}

/** Where a secret is kept: an environment variable, or a file (its last line break is not part of it). */
export type SecretRef = { env: string } | { file: string };

const REFERENCE = /\$\{(env|file):([^}]+)\}/g;

/**
 * The value of a secret, remembered for redaction. `what` names it in the one-line error a
 * variable that is not set, or a file that cannot be read, gives.
 */
export function readSecret(ref: SecretRef, what?: string): string {
  let value: string;
  if ('env' in ref) {
    const v = process.env[ref.env];
    if (v === undefined)
      throw new FerryError(
        'SECRET_MISSING',
        `environment variable ${ref.env}${what ? ` (${what})` : ''} is not set`,
        `export ${ref.env} before running ferry`,
      );
    value = v;
  } else {
    try {
      value = readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new FerryError(
        'SECRET_MISSING',
        `cannot read ${what ?? 'secret'} file ${ref.file}`,
        'check the path, and that ferry may read the file',
      );
    }
  }
  registerSecret(value);
  return value;
}

function resolveWith(text: string, spell: (value: string) => string, what?: string): string {
  return text.replace(REFERENCE, (_m, kind: string, name: string) =>
    spell(readSecret(kind === 'env' ? { env: name } : { file: name }, what)),
  );
}

/** Resolves ${env:NAME} and ${file:path} references in a URL (values percent-encoded). */
export function resolveSecrets(url: string): string {
  return resolveWith(url, encodeURIComponent);
}

/** Resolves the references in a text that is no URL (a transform's key, an option's value). */
export function resolveSecretText(text: string, what?: string): string {
  return resolveWith(text, (v) => v, what);
}

/** Every string of a plan's options (objects and lists of them) with its references resolved. */
export function resolveSecretsIn<T>(value: T): T {
  if (typeof value === 'string') return resolveSecretText(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => resolveSecretsIn(v)) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveSecretsIn(v)])) as T;
  return value;
}

/** Whether a text is made only of ${env:…}/${file:…} references (no literal part a plan would give away). */
export function onlyReferences(text: string): boolean {
  return text.trim() !== '' && text.replace(REFERENCE, '') === '';
}

/**
 * Names a secret without revealing it: a hash of a key derived from it for `purpose`, so that
 * the name says nothing about keys derived for anything else.
 */
export function secretId(material: Buffer, purpose: string): string {
  return createHash('sha256')
    .update(Buffer.from(hkdfSync('sha256', material, '', purpose, 32)))
    .digest('hex')
    .slice(0, 16);
}

/** Replaces URL passwords and every known secret in a text by "***". */
export function redact(text: string): string {
  // a user name or password may itself be a ${env:…} reference, which is kept
  let out = text.replace(
    /([a-z][a-z0-9+.-]*:\/\/)((?:\$\{[^}]*\}|[^:/@\s"'$])*):((?:\$\{[^}]*\}|[^@\s"'/$])+)@/gi,
    (m, scheme: string, user: string, pw: string) =>
      /^\$\{(env|file):[^}]+\}$/.test(pw) ? m : `${scheme}${user}:***@`,
  );
  for (const s of known) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

/** Remembers the literal password of a URL as a secret. */
export function registerUrlSecrets(url: string): void {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]+)@/i.exec(url);
  if (m) {
    registerSecret(m[1]!);
    try {
      registerSecret(decodeURIComponent(m[1]!));
    } catch {
      // a password that is not valid percent-encoding is already registered as written
    }
  }
}

/**
 * Whether a URL carries a literal secret: a password (in the user-info part or a password=
 * parameter) that is not made only of ${env:…}/${file:…} references.
 */
export function hasLiteralPassword(url: string): boolean {
  const bare = url.replace(REFERENCE, '');
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:([^/?#@]*)@/i.exec(bare);
  const param = /[?&]password=([^&#]*)/i.exec(bare);
  return !!userinfo?.[1] || !!param?.[1];
}
