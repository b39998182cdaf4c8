// The one domain error type. Verbs throw only DomainError; the HTTP edge maps `code` to a status and
// the Inngest edge maps `retryable`/`retryAfterMs` to NonRetriableError / RetryAfterError.

export type ErrorCode =
  | "VALIDATION"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "INVALID_TRANSITION"
  | "LIMIT_EXCEEDED"
  | "RATE_LIMITED"
  | "UPSTREAM"
  | "UNAVAILABLE"
  | "CONFIG";

export interface DomainErrorOptions {
  /** Which input field or limit the error is about, when there is one. */
  field?: string;
  /** Extra machine-readable facts (e.g. the current state after a lost race). */
  details?: Record<string, unknown>;
  retryable?: boolean;
  /** When the caller may try again (rate limits, full queues). */
  retryAfterMs?: number;
  cause?: unknown;
}

const DEFAULT_RETRYABLE: Record<ErrorCode, boolean> = {
  VALIDATION: false,
  UNAUTHORIZED: false,
  FORBIDDEN: false,
  NOT_FOUND: false,
  CONFLICT: false,
  INVALID_TRANSITION: false,
  LIMIT_EXCEEDED: false,
  RATE_LIMITED: true,
  UPSTREAM: true,
  UNAVAILABLE: true,
  CONFIG: false,
};

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, opts: DomainErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "DomainError";
    this.code = code;
    this.field = opts.field;
    this.details = opts.details;
    this.retryable = opts.retryable ?? DEFAULT_RETRYABLE[code];
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
