/**
 * The one error type fer-lab throws for things a user can fix: the message says which file or value,
 * what was expected, and what to do.
 */
export class FerError extends Error {
  /** The file or value the error is about, when there is one. */
  readonly file?: string;
  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerError';
    this.file = options.file;
  }
}

/** The message of any thrown value (tools such as opencv throw non-Error values). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
