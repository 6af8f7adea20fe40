// Runs fn over items with at most <limit> at once, in order of the items. Once <signal> is aborted
// nothing new starts: the items not started get skipped(item); those running finish (their own
// cancellation is theirs to handle).
export async function inPool<T, R>(items: readonly T[], limit: number, signal: AbortSignal | undefined, fn: (item: T) => Promise<R>, skipped: (item: T) => R): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      const item = items[index] as T;
      results[index] = signal?.aborted ? skipped(item) : await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
