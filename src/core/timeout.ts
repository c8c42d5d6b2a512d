/**
 * A promise that settles within `ms`: the original's outcome, or a rejection naming the wait. The
 * original is marked handled, because once it has lost the race nobody awaits it, and a late rejection
 * ("Connection is closed") would otherwise surface as an unhandled rejection.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = "the operation"): Promise<T> {
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
