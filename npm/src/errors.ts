/** One problem in a policy document (`POLICY_INVALID`), with its dotted path. */
export interface PolicyIssue {
  path: string;
  code: string;
  message: string;
  severity?: 'error' | 'warning';
}

/**
 * The error every call throws when the engine cannot evaluate it. A denial is not an error:
 * `allow` resolves to `false`.
 *
 * `code` is stable: `POLICY_INVALID` (with `issues`), `POLICY_PARSE`, `DOCUMENT_TOO_LARGE`,
 * `FORMAT_UNSUPPORTED`, `INVALID_ARGUMENT`, `UNKNOWN_PLAN`, `UNKNOWN_TOPUP`, `UNKNOWN_CREDIT` (the
 * last three only with the `strict` load option), `UNKNOWN_CUSTOMER`,
 * `OVERFLOW`, `SERIALIZE`.
 */
export class LimitrError extends Error {
  readonly code: string;
  readonly issues: PolicyIssue[];

  constructor(code: string, message: string, issues: PolicyIssue[] = []) {
    super(message);
    this.name = 'LimitrError';
    this.code = code;
    this.issues = issues;
  }
}

/** A wrong argument caught before it reaches the engine. */
export function invalidArgument(name: string, message: string): LimitrError {
  return new LimitrError('INVALID_ARGUMENT', `${name}: ${message}`);
}

/** Turns an error thrown by the backend (see native.ts) into a {@link LimitrError}. */
export function fromNative(e: unknown): LimitrError {
  if (e instanceof LimitrError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const text = typeof err?.message === 'string' ? err.message : String(e);
  try {
    const body = JSON.parse(text) as { message: string; issues?: PolicyIssue[] };
    if (typeof err.code === 'string' && typeof body?.message === 'string') {
      return new LimitrError(err.code, body.message, body.issues ?? []);
    }
  } catch {
    // not one of ours: a type the addon could not convert
  }
  return new LimitrError('INVALID_ARGUMENT', text);
}
