/**
 * Copy-on-write mapping over a decoded/encodable value tree. Descends arrays
 * and plain objects only; returns the input itself (no allocation) when `leaf`
 * changes nothing, so messages without special values pay one walk and no copy.
 */
export function mapLeaves(value: unknown, leaf: (v: unknown) => unknown): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const m = mapLeaves(v, leaf);
      if (m !== v) {
        out ??= value.slice();
        out[i] = m;
      }
    }
    return out ?? value;
  }
  if (isPlainObject(value)) {
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(value)) {
      const v = value[k];
      const m = mapLeaves(v, leaf);
      if (m !== v) {
        out ??= { ...value };
        out[k] = m;
      }
    }
    return out ?? value;
  }
  return leaf(value);
}

/** Whether some leaf (non-array, non-plain-object value) satisfies `pred`. */
export function someLeaf(value: unknown, pred: (v: unknown) => boolean): boolean {
  if (Array.isArray(value)) return value.some((v) => someLeaf(v, pred));
  if (isPlainObject(value)) {
    for (const k of Object.keys(value)) if (someLeaf(value[k], pred)) return true;
    return false;
  }
  return pred(value);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** 2^53: the largest magnitude below which every integer is an exact double (WAMP IDs go up to it). */
export const MAX_EXACT = 2 ** 53;

/**
 * msgpackr and cbor-x write integers outside the 32-bit range as float64,
 * which breaks WAMP IDs (they MUST be integers, up to 2^53; a Python peer
 * would see a float). Turning such integers (|v| <= 2^53, all exact) into BigInt makes both
 * codecs emit a 64-bit integer instead.
 */
export function widenLargeIntegers(value: unknown, negativeUint32Ok: boolean): unknown {
  return mapLeaves(value, (v) => {
    if (typeof v !== 'number' || v >>> 0 === v || v >> 0 === v) return v;
    if (negativeUint32Ok && v < 0 && v >= -0x100000000 && Number.isInteger(v)) return v;
    return Number.isInteger(v) && Math.abs(v) <= MAX_EXACT ? BigInt(v) : v;
  });
}
