// Bounded waiting for tests: a promise, or a clear error naming what did not happen in time.
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`${what}: not within ${ms} ms`));
      }, ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}
