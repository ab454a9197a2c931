import type { ByteWriter } from './byte-writer.js';

/**
 * How a store turns a value into bytes and back. JSON is the default (readable with redis-cli or
 * kubectl); hot paths with many small records (series baselines) use a compact binary codec.
 * `decode` throws on bytes it does not understand; stores then treat the key as absent (relearnt).
 */
export interface Codec<T> {
  readonly name: string;
  /** The bytes may be a view the codec reuses on its next call: copy them before encoding again. */
  encode(value: T): Uint8Array;
  /** The same bytes as `encode`, appended to `out` (no view made, nothing copied twice). */
  encodeInto?(value: T, out: ByteWriter): void;
  decode(bytes: Uint8Array): T;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export const JSON_CODEC: Codec<unknown> = {
  name: 'json',
  encode: (value) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8'),
  decode: (bytes) => JSON.parse(decoder.decode(bytes)) as unknown,
};

/**
 * What a store loads for a value: the decoded value, or undefined (absent) when it cannot be read —
 * the store keeps the version, so the next write replaces it and the state is relearnt.
 */
export function readable<T>(decode: () => T): T {
  try {
    return decode();
  } catch {
    return undefined as T;
  }
}

/**
 * Bytes as they are: what `updateEach` loads and commits through, decoding each value just before it
 * is computed on and encoding it right after (so a batch's decoded values die young). Decode gives
 * a view of the store's bytes; encode gives the bytes it was given (stores copy what they keep).
 */
export const BYTES_CODEC: Codec<Uint8Array> = {
  name: 'bytes',
  encode: (value) => value,
  decode: (bytes) => bytes,
};

/** The default codec, typed for a caller's value. */
export function jsonCodec<T>(): Codec<T> {
  return JSON_CODEC as Codec<T>;
}
