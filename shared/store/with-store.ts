import { unavailable } from '../runtime/errors.js';
import { StoreError } from './store.js';

/**
 * Run store work; a store failure becomes a 503, so the broker delivers the event again and
 * nothing is lost.
 */
export async function withStore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StoreError) throw unavailable(`store: ${error.message}`, { cause: error });
    throw error;
  }
}
