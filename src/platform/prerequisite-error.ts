/**
 * Something this machine lacks that the operator installs (Maven, Java, a package left out of the install): the
 * message is one line saying what to run, and commands print it without a stack trace.
 */
export class PrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrerequisiteError';
  }
}
