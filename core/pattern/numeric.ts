/**
 * EventBridge documents numeric matching as "limited to values between -5.0e9 and +5.0e9 inclusive, with 15 digits
 * of precision, or six digits to the right of the decimal point". Numbers outside that are rejected in patterns
 * (`numeric` operands, `anything-but` numbers) and never satisfy a numeric comparison in events.
 */

export const NUMERIC_LIMIT = 5e9;
export const NUMERIC_MAX_DECIMALS = 6;

/** Digits after the decimal point in the shortest round-trip form of `n`. */
export function decimalPlaces(n: number): number {
  if (Number.isInteger(n)) return 0;
  const text = String(Math.abs(n));
  const e = text.indexOf('e');
  const mantissa = e >= 0 ? text.slice(0, e) : text;
  const exponent = e >= 0 ? Number(text.slice(e + 1)) : 0;
  const dot = mantissa.indexOf('.');
  const fraction = dot >= 0 ? mantissa.length - dot - 1 : 0;
  return Math.max(0, fraction - exponent);
}

/** Whether EventBridge can compare this number numerically. */
export function isComparable(n: number): boolean {
  return (
    Number.isFinite(n) &&
    n >= -NUMERIC_LIMIT &&
    n <= NUMERIC_LIMIT &&
    (Number.isInteger(n) || decimalPlaces(n) <= NUMERIC_MAX_DECIMALS)
  );
}

/** Why a pattern number is not comparable, or undefined when it is. */
export function comparableProblem(n: number): string | undefined {
  if (!Number.isFinite(n)) return `${n} is not a finite number`;
  if (n < -NUMERIC_LIMIT || n > NUMERIC_LIMIT) {
    return `${n} is outside the range EventBridge compares numerically (-5.0e9 to 5.0e9 inclusive)`;
  }
  if (decimalPlaces(n) > NUMERIC_MAX_DECIMALS) {
    return `${n} has more than ${NUMERIC_MAX_DECIMALS} digits after the decimal point (EventBridge's numeric precision)`;
  }
  return undefined;
}
