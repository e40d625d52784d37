/** A mistake in the command line: printed with a pointer to `help`, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The help to point to, e.g. "restic-fleet-server user --help"; else the main --help. */
    readonly help?: string,
  ) {
    super(message);
  }
}
