// Strict JSON in, RFC 8785 JSON out: how the server reads a receipt (Python's json with
// receipts.canonical.strict_loads) and the bytes it signs (receipts.canonical.canonical_bytes).
//
// parseJson never guesses: an object is a Map, so any member name (__proto__, constructor)
// is only a member and nothing is inherited; a name given twice is refused, since readers
// disagree on which one counts; an integer is a BigInt, exact at any size (Python's int;
// more than 4300 digits is refused as Python refuses it); a number with a fraction or an
// exponent is a double (Python's float); NaN and Infinity are not JSON.

import { pyRepr } from "./python.js";

export class JsonError extends Error {}

const MAX_DEPTH = 900; // Python stops at its recursion limit, near 1000 levels
const MAX_INT_DIGITS = 4300; // Python's int max_str_digits
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const ESCAPES = new Map([['"', '"'], ["\\", "\\"], ["/", "/"], ["b", "\b"], ["f", "\f"], ["n", "\n"], ["r", "\r"], ["t", "\t"]]);
const HEX4 = /^[0-9a-fA-F]{4}$/;

export function parseJson(text) {
  let at = 0;
  const fail = (message) => {
    throw new JsonError(`${message} at character ${at}`);
  };
  const skipSpace = () => {
    while (text[at] === " " || text[at] === "\t" || text[at] === "\n" || text[at] === "\r") at++;
  };

  function string() {
    at++; // the opening quote
    let out = "";
    let run = at;
    for (;;) {
      if (at >= text.length) fail("Unterminated string");
      const code = text.charCodeAt(at);
      if (code === 0x22) break;
      if (code < 0x20) fail("Invalid control character");
      if (code !== 0x5c) {
        at++;
        continue;
      }
      out += text.slice(run, at);
      const escape = text[at + 1];
      if (escape === "u") {
        const digits = text.slice(at + 2, at + 6);
        if (!HEX4.test(digits)) fail("Invalid \\uXXXX escape");
        out += String.fromCharCode(parseInt(digits, 16)); // surrogate escapes pair up as in Python
        at += 6;
      } else if (ESCAPES.has(escape)) {
        out += ESCAPES.get(escape);
        at += 2;
      } else {
        fail("Invalid \\escape");
      }
      run = at;
    }
    out += text.slice(run, at);
    at++;
    return out;
  }

  function number() {
    NUMBER.lastIndex = at;
    const match = NUMBER.exec(text);
    if (!match) fail("Expecting value");
    at += match[0].length;
    if (match[1] === undefined && match[2] === undefined) {
      const digits = match[0].length - (match[0][0] === "-" ? 1 : 0);
      if (digits > MAX_INT_DIGITS) fail(`Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion`);
      return BigInt(match[0]);
    }
    return Number(match[0]);
  }

  function value(depth) {
    if (depth > MAX_DEPTH) fail("nested too deeply");
    skipSpace();
    const ch = text[at];
    if (ch === '"') return string();
    if (ch === "{") return object(depth);
    if (ch === "[") return array(depth);
    for (const [word, meaning] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return meaning;
      }
    }
    for (const word of ["NaN", "Infinity", "-Infinity"]) {
      if (text.startsWith(word, at)) throw new JsonError(`${word} is not valid JSON`); // strict_loads' words
    }
    return number();
  }

  function object(depth) {
    at++;
    const members = new Map();
    let duplicate = null; // refused once the object is read, as Python's object_pairs_hook does
    skipSpace();
    if (text[at] === "}") {
      at++;
      return members;
    }
    for (;;) {
      skipSpace();
      if (text[at] !== '"') fail("Expecting property name enclosed in double quotes");
      const name = string();
      skipSpace();
      if (text[at] !== ":") fail("Expecting ':' delimiter");
      at++;
      const item = value(depth + 1);
      if (members.has(name) && duplicate === null) duplicate = name;
      members.set(name, item);
      skipSpace();
      if (text[at] === "}") break;
      if (text[at] !== ",") fail("Expecting ',' delimiter");
      at++;
    }
    at++;
    if (duplicate !== null) throw new JsonError(`duplicate member ${pyRepr(duplicate)}`);
    return members;
  }

  function array(depth) {
    at++;
    const items = [];
    skipSpace();
    if (text[at] === "]") {
      at++;
      return items;
    }
    for (;;) {
      items.push(value(depth + 1));
      skipSpace();
      if (text[at] === "]") break;
      if (text[at] !== ",") fail("Expecting ',' delimiter");
      at++;
    }
    at++;
    return items;
  }

  const result = value(0);
  skipSpace();
  if (at < text.length) fail("Extra data");
  return result;
}

const SAFE_INTEGER = 2n ** 53n - 1n;

// RFC 8785 (JCS) text of a value; JsonError for values that have no I-JSON form.
export function canonicalJson(value) {
  if (value === null || value === true || value === false) return String(value);
  if (typeof value === "string") {
    if (!value.isWellFormed()) throw new JsonError("input contains non-UTF-8 codepoints");
    return JSON.stringify(value); // RFC 8785's escapes are ECMAScript's
  }
  if (typeof value === "bigint") {
    if (value > SAFE_INTEGER || value < -SAFE_INTEGER) {
      throw new JsonError(`${value} exceeds safe integer domain for JSON floats`);
    }
    return value.toString();
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new JsonError(`${value} is not representable in JCS`);
    return String(value); // ECMAScript's number serialization is RFC 8785's (and -0 is "0")
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value instanceof Map) {
    const names = [...value.keys()].sort(); // by UTF-16 code units, as RFC 8785 orders them
    return `{${names.map((name) => `${canonicalJson(name)}:${canonicalJson(value.get(name))}`).join(",")}}`;
  }
  throw new JsonError(`${typeof value} has no JSON form`);
}
