// What Python does with JSON values, where receipts/verify.py's answer depends on it: `==`
// (1 == 1.0 == True), str() and repr() as reasons quote them, str.strip(), str.isprintable()
// (by the server's own Unicode tables, tables.js), and lengths and order by code point.
// Values are as json.js reads them: null, booleans, strings, BigInt for Python's int,
// numbers for Python's float, arrays, and Maps for objects.
import { NOT_PRINTABLE, WHITESPACE } from "./tables.js";

export const isInt = (value) => typeof value === "bigint";
export const isStr = (value) => typeof value === "string";
export const isDict = (value) => value instanceof Map;

// Python's `value == other` (never raises; containers compare item by item).
export function pyEq(value, other) {
  const number = (v) => (typeof v === "boolean" ? BigInt(v) : typeof v === "bigint" || typeof v === "number" ? v : undefined);
  const x = number(value);
  const y = number(other);
  if (x !== undefined || y !== undefined) return x !== undefined && y !== undefined && x == y; // exact across BigInt and double
  if (Array.isArray(value)) {
    return Array.isArray(other) && value.length === other.length && value.every((item, i) => pyEq(item, other[i]));
  }
  if (isDict(value)) {
    return isDict(other) && value.size === other.size && [...value].every(([k, v]) => other.has(k) && pyEq(v, other.get(k)));
  }
  return value === other;
}

// repr() of a float: the shortest digits that read back, in Python's layout.
function floatRepr(x) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const [mantissa, exponent] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const point = Number(exponent) + 1; // digits[0:point] before the decimal point
  if (point <= -4 || point > 16) {
    const shown = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = point - 1;
    return `${sign}${shown}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

const hex = (point, width) => point.toString(16).padStart(width, "0");

function strRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const point = ch.codePointAt(0);
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (point < 0x20 || point === 0x7f) out += `\\x${hex(point, 2)}`;
    else if (point < 0x7f || printable(point)) out += ch;
    else if (point <= 0xff) out += `\\x${hex(point, 2)}`;
    else if (point <= 0xffff) out += `\\u${hex(point, 4)}`;
    else out += `\\U${hex(point, 8)}`;
  }
  return out + quote;
}

// Python's repr(value) and str(value).
export function pyRepr(value) {
  if (isStr(value)) return strRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (isDict(value)) return `{${[...value].map(([k, v]) => `${strRepr(k)}: ${pyRepr(v)}`).join(", ")}}`;
  return pyStr(value);
}

export function pyStr(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return floatRepr(value);
  if (isStr(value)) return value;
  if (isInt(value)) return value.toString();
  return pyRepr(value);
}

// Strings by code point, as Python holds them (a lone surrogate is one).
export const pyLen = (text) => {
  let count = 0;
  for (const _ of text) count++;
  return count;
};
export const pySlice = (text, end) => Array.from(text).slice(0, end).join("");
export const pyCompare = (a, b) => {
  const x = Array.from(a, (ch) => ch.codePointAt(0));
  const y = Array.from(b, (ch) => ch.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
};
export const pySorted = (names) => [...names].sort(pyCompare);

const SPACE = new Set(WHITESPACE);
export function pyStrip(text) {
  let start = 0;
  let end = text.length;
  while (start < end && SPACE.has(text[start])) start++;
  while (end > start && SPACE.has(text[end - 1])) end--;
  return text.slice(start, end);
}

function printable(point) {
  let low = 0;
  let high = NOT_PRINTABLE.length / 2 - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (point < NOT_PRINTABLE[2 * middle]) high = middle - 1;
    else if (point > NOT_PRINTABLE[2 * middle + 1]) low = middle + 1;
    else return false;
  }
  return true;
}

// Python's str.isprintable(): no control, format, separator (but space), surrogate,
// private-use or unassigned code point, by the Unicode version of the server's Python.
export function isPrintable(text) {
  for (const ch of text) if (!printable(ch.codePointAt(0))) return false;
  return true;
}
