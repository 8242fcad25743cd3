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

/** Polls `condition` every 25 ms until it holds; rejects naming what did not happen within `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise(r => setTimeout(r, 25));
  }
}
