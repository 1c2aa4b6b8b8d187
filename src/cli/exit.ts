/**
 * Thrown by a command whose exit code is not cellblock's to choose (`jail exec` exits with
 * the code of the command it ran). The entry point returns the code and prints nothing.
 */
export class ExitCode extends Error {
  override name = 'ExitCode';
  constructor(readonly code: number) {
    super(`exit code ${code}`);
  }
}
