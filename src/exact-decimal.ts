/**
 * The double nearest a decimal of up to 17 significant digits, as `Number()` gives it, without
 * making a string: what a reader of millions of metric lines needs (Python's `repr` writes up to
 * 17 digits), where `Number()` on each value's text is most of the cost.
 *
 * The digits come as `hi * 10^loDigits + lo` (hi below 10^9, lo of at most 8 digits), exact as a
 * pair of doubles. One division by an exact power of ten gives a double at most an ulp or two
 * from the answer; the remainder of that division, computed exactly (Dekker's product), says
 * whether it is the nearest one or a neighbour is. Where the decimal lies within a hair of the
 * halfway point between two doubles, or out of this range, the answer is undefined and the
 * caller asks `Number()`.
 */

/** Powers of ten that are exact doubles. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Dekker's splitter for 53-bit doubles: 2^27 + 1. */
const SPLIT = 134217729;
/** Relative width of the band around halfway where the answer is left to `Number()`. */
const MARGIN = 2 ** -30;

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // little-endian

/** 2^e for a normal double exponent. */
function power2(e: number): number {
  words[1 - HIGH] = 0;
  words[HIGH] = (e + 1023) << 20;
  return bits[0] as number;
}

/**
 * The double nearest `(hi * 10^loDigits + lo) * 10^exponent`, for hi < 10^9, lo < 10^loDigits,
 * loDigits <= 8; undefined when it takes `Number()` to tell.
 */
export function decimalToDouble(
  hi: number,
  lo: number,
  loDigits: number,
  exponent: number,
): number | undefined {
  // The digits as dh + dl exactly: hi * 10^k is exact (hi * 5^k < 2^53), the sum's error exact.
  const high = hi * (POW10[loDigits] as number);
  const dh = high + lo;
  const dl = lo - (dh - high);
  if (exponent < -22 || exponent > 22) return undefined;
  const p = POW10[Math.abs(exponent)] as number;
  // Exact operands: one correctly rounded operation is the answer.
  if (dl === 0) return exponent < 0 ? dh / p : dh * p;
  if (exponent > 0) return undefined;
  let q = dh / p;
  // ph + pl = q * p exactly (Dekker); r = D - q * p, exact but for a negligible rounding.
  const qs = SPLIT * q;
  const qh = qs - (qs - q);
  const ql = q - qh;
  const ps = SPLIT * p;
  const pH = ps - (ps - p);
  const pL = p - pH;
  const ph = q * p;
  const pl = qh * pH - ph + qh * pL + ql * pH + ql * pL;
  let r = dh - ph + (dl - pl); // dh - ph is exact: the two are within a factor of 2
  for (let tries = 0; tries < 2; tries++) {
    bits[0] = q;
    const e = ((words[HIGH] as number) >>> 20) & 0x7ff;
    // A power of two has a closer neighbour below; subnormals and infinities: ask Number().
    if (
      e === 0 ||
      e === 0x7ff ||
      ((words[HIGH] as number) & 0xfffff) + (words[1 - HIGH] as number) === 0
    ) {
      return undefined;
    }
    const ulp = power2(e - 1075);
    const half = (p * ulp) / 2; // D - q * p where D is halfway to a neighbour, exact
    const distance = Math.abs(r);
    if (distance < half * (1 - MARGIN)) return q;
    if (distance <= half * (1 + MARGIN)) return undefined;
    const step = r > 0 ? ulp : -ulp;
    q += step;
    r -= step * p;
  }
  return undefined;
}
