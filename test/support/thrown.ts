/** The error `work` throws synchronously; fails the test when it throws none. */
export function thrown(work: () => unknown): Error {
  try {
    work();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, got none');
}
