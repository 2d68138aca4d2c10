// Secrets are never literal in plans: ${env:NAME} and ${file:path} references are resolved
// at connect time, and every resolved value is remembered so `redact` can scrub it from any
// text ferry writes (logs, errors, state, reports).
import { readFileSync } from 'node:fs';
import { FerryError } from './errors.js';

const known = new Set<string>();

export function registerSecret(value: string): void {
  if (value.length >= 3) {
    known.add(value);
    known.add(encodeURIComponent(value));
  }
}

/** Resolves ${env:NAME} and ${file:path} references in a string. */
export function resolveSecrets(text: string): string {
  return text.replace(/\$\{(env|file):([^}]+)\}/g, (_m, kind: string, ref: string) => {
    let value: string | undefined;
    if (kind === 'env') {
      value = process.env[ref];
      if (value === undefined)
        throw new FerryError(
          'SECRET_MISSING',
          `environment variable ${ref} is not set`,
          `export ${ref} before running ferry`,
        );
    } else {
      try {
        value = readFileSync(ref, 'utf8').replace(/\r?\n$/, '');
      } catch {
        throw new FerryError(
          'SECRET_MISSING',
          `cannot read secret file ${ref}`,
          'check the path in the ${file:…} reference',
        );
      }
    }
    registerSecret(value);
    return encodeURIComponent(value);
  });
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
  const bare = url.replace(/\$\{(env|file):[^}]+\}/g, '');
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:([^/?#@]*)@/i.exec(bare);
  const param = /[?&]password=([^&#]*)/i.exec(bare);
  return !!userinfo?.[1] || !!param?.[1];
}
