// One root error type: a stable code, a one-line message that says what is wrong,
// what to do about it, and whether retrying may help.

export type ErrorCode =
  | 'PLAN_INVALID'
  | 'PLAN_NOT_FOUND'
  | 'URL_INVALID'
  | 'SECRET_MISSING'
  | 'CONNECT_FAILED'
  | 'TLS_FAILED'
  | 'AUTH_FAILED'
  | 'DATABASE_NOT_FOUND'
  | 'TABLE_NOT_FOUND'
  | 'TABLE_EXISTS'
  | 'UNSUPPORTED'
  | 'VALUE_DOES_NOT_FIT'
  | 'ERROR_BUDGET_SPENT'
  | 'WRITE_FAILED'
  | 'READ_FAILED'
  | 'SNAPSHOT_LOST'
  | 'VERIFY_FAILED'
  | 'STATE_CONFLICT'
  | 'RUN_NOT_FOUND'
  | 'BACKUP_INVALID'
  | 'TARGET_CHANGED'
  | 'AUDIT_BROKEN'
  | 'PATH_INVALID'
  | 'FILE_UNWRITABLE'
  | 'STATE_DAMAGED'
  | 'INTERRUPTED'
  | 'LOCKED'
  | 'SERVE_INVALID'
  | 'CUTOVER_ABORTED'
  | 'INTERNAL';

export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly action: string;
  readonly transient: boolean;

  constructor(code: ErrorCode, message: string, action = '', options: { transient?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.action = action;
    this.transient = options.transient ?? false;
  }

  /** The one line a user sees. */
  oneLine(): string {
    return this.action ? `${this.message}: ${this.action}` : this.message;
  }
}

export function isTransient(err: unknown): boolean {
  return err instanceof FerryError && err.transient;
}

/** Codes of errors that say nothing about the data: an endpoint that cannot be reached or used, the state, an interrupt. */
const NOT_ABOUT_THE_DATA = new Set<ErrorCode>([
  'CONNECT_FAILED',
  'TLS_FAILED',
  'AUTH_FAILED',
  'SNAPSHOT_LOST',
  'STATE_DAMAGED',
  'FILE_UNWRITABLE',
  'INTERRUPTED',
]);

/**
 * Whether an error stopped a check without saying anything about the data it checked (a server
 * that went away, or one retrying may reach): a check that met one failed, it found no difference.
 */
export function isNotAboutTheData(err: unknown): boolean {
  return err instanceof FerryError && (err.transient || NOT_ABOUT_THE_DATA.has(err.code));
}

/**
 * The source's consistent snapshot ended with a connection that held it (a server restart). A
 * read on a new connection would see another moment of the data, so the command stops here.
 */
export function snapshotLost(reason: string, cause?: unknown): FerryError {
  return new FerryError(
    'SNAPSHOT_LOST',
    `the source's consistent snapshot is gone (${reason})`,
    'run the same command again: it reads from a new snapshot',
    { cause },
  );
}

/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  verifyMismatch: 3,
  rejects: 4,
  interrupted: 130,
} as const;
