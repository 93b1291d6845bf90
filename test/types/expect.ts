// Compile-time assertions: these files are type-checked by `tsc -p tsconfig.json` and never run.

/** True when A and B are the same type (not merely mutually assignable). */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Fails to compile unless `T` is `true`: `expectType<Equal<typeof x, Expected>>()`. */
export function expectType<T extends true>(): T | undefined {
  return undefined;
}
