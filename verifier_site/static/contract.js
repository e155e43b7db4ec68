// The receipt contract (DESIGN.md, v1 and v2) as receipts/contract.py's contract_problem checks a
// signed body: every field, type and format rule, amounts with exactly the currency's minor
// digits (integer minor units as BigInt, never a float), the event timestamp normalized to
// UTC, receipt_id and event_sha256 recomputed. Reasons are receipts/verify.py's, word for word.
import { canonicalJson } from "./json.js";
import { isInt, isPrintable, isStr, pyEq, pyLen, pyRepr, pySlice, pySorted, pyStr } from "./python.js";
import { MINOR_UNITS } from "./tables.js";

export const ZERO_HASH = "0".repeat(64);
export const ACCEPTED = "accepted";
const REJECTED = "rejected";
const CHARGE = "charge";
export const CREDIT = "credit";
export const BODY_FIELDS = [
  "v", "receipt_id", "customer_id", "sequence", "previous_receipt_hash", "idempotent_key", "event_sha256",
  "entitlement_id", "amount", "currency", "usage_description", "event_timestamp", "processed_at", "status",
  "reason", "balance_after", "quota_remaining", "kid",
]; // prettier-ignore
const BODY_FIELDS_V2 = [...BODY_FIELDS, "type", "corrects"]; // contract v2: credit notes
const EVENT_FIELDS = [
  ["idempotent_key", "idempotent_key"], ["customer_id", "customer_id"], ["amount", "amount"],
  ["currency", "currency"], ["timestamp", "event_timestamp"], ["entitlement_id", "entitlement_id"],
  ["usage_description", "usage_description"],
]; // prettier-ignore
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const RECEIPT_ID = /^r_[a-z2-7]{26}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const UTC_TIMESTAMP = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$/;
const DECIMAL_TEXT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const AMOUNT_TEXT = /^(?:0|[1-9][0-9]{0,14})(?:\.([0-9]+))?$/;
const BALANCE_TEXT = /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const TIMESTAMP = new RegExp(
  "^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\\.([0-9]{1,9}))?" +
    "(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))$",
);
const TIMESTAMP_RULE =
  "timestamp must be RFC 3339 with a UTC offset, e.g. 2026-01-25T10:30:45Z or 2026-01-25T11:30:45+01:00";
const encoder = new TextEncoder();

export const get = (map, name) => (map.has(name) ? map.get(name) : null);

export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// -- money (receipts/money.py) -------------------------------------------------------------
class AmountError extends Error {}

function checkAmountText(text) {
  const match = AMOUNT_TEXT.exec(text);
  if (!match) {
    throw new AmountError(
      `amount ${pyRepr(pySlice(text, 40))} is not a plain positive decimal (digits, optional fraction; ` +
        "no sign, exponent or leading zeros; at most 15 integer digits)",
    );
  }
  if (/^[0.]*$/.test(text)) throw new AmountError(`amount ${pyRepr(text)} must be greater than zero`);
  return match[1] ?? "";
}

export function parseAmount(text, currency) {
  const fraction = checkAmountText(text);
  const digits = MINOR_UNITS.get(currency);
  if (fraction.length > digits) {
    throw new AmountError(`amount ${pyRepr(text)} has ${fraction.length} fraction digits; ${currency} allows ${digits}`);
  }
  return BigInt(text.split(".")[0]) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, "0") || "0");
}

export function formatAmount(minor, currency) {
  const digits = MINOR_UNITS.get(currency);
  const sign = minor < 0n ? "-" : "";
  const text = (minor < 0n ? -minor : minor).toString().padStart(digits + 1, "0");
  return digits === 0 ? `${sign}${text}` : `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

export function parseBalance(text, currency) {
  if (!isStr(text) || !isStr(currency) || !MINOR_UNITS.has(currency) || !BALANCE_TEXT.test(text)) return null;
  const [whole, fraction = ""] = text.split(".");
  if (fraction.length !== MINOR_UNITS.get(currency)) return null;
  return BigInt(whole) * 10n ** BigInt(fraction.length) + BigInt(fraction || "0");
}

// -- the event a body was made from (receipts/events.py validate_event) --------------------
function jsonType(value) {
  if (typeof value === "boolean") return "a boolean";
  if (isStr(value)) return "a string";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Map) return "an object";
  return "null"; // what _json_type says of anything else
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const leap = (year) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

// Python's datetime(...) rules and messages, then the UTC instant's text.
function normalizedTimestamp(text) {
  const match = isStr(text) ? TIMESTAMP.exec(text) : null;
  if (!match) throw new Error("");
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const [fraction = "", sign, offsetHours = "0", offsetMinutes = "0"] = match.slice(7);
  if (year < 1 || year > 9999) throw new Error(`year ${year} is out of range`);
  if (month < 1 || month > 12) throw new Error("month must be in 1..12");
  if (day < 1 || day > (month === 2 && leap(year) ? 29 : DAYS[month - 1])) throw new Error("day is out of range for month");
  if (hour > 23) throw new Error("hour must be in 0..23");
  if (minute > 59) throw new Error("minute must be in 0..59");
  if (second > 59) throw new Error("second must be in 0..59");
  const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  if (offset >= 24 * 3_600_000 || Number(offsetMinutes) > 59) throw new Error("offset out of range");
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, 0);
  const utc = new Date(local.getTime() + (sign === "+" ? -offset : offset));
  if (utc.getUTCFullYear() < 1 || utc.getUTCFullYear() > 9999) throw new Error("date value out of range");
  const two = (n) => String(n).padStart(2, "0");
  const whole =
    `${String(utc.getUTCFullYear()).padStart(4, "0")}-${two(utc.getUTCMonth() + 1)}-${two(utc.getUTCDate())}` +
    `T${two(utc.getUTCHours())}:${two(utc.getUTCMinutes())}:${two(utc.getUTCSeconds())}`;
  const kept = fraction.replace(/0+$/, "");
  return `${whole}${kept ? `.${kept}` : ""}Z`;
}

function validateEvent(fields) {
  const details = [];
  for (const name of ["idempotent_key", "customer_id", "amount", "currency", "timestamp"]) {
    if (fields[name] === null) details.push(`${name} is required`);
  }
  const { idempotent_key: key, customer_id: customer, amount, timestamp, entitlement_id: entitlement } = fields;
  const description = fields.usage_description;
  let currency = fields.currency;
  if (key !== null && !(isStr(key) && pyLen(key) >= 1 && pyLen(key) <= 255 && isPrintable(key))) {
    details.push("idempotent_key must be a string of 1 to 255 printable characters");
  }
  if (customer !== null && !(isStr(customer) && ID_PATTERN.test(customer))) {
    details.push("customer_id must match [A-Za-z0-9_-]{1,64}");
  }
  if (currency !== null && !(isStr(currency) && MINOR_UNITS.has(currency))) {
    const shown = isStr(currency) ? pySlice(currency, 8) : jsonType(currency);
    details.push(`currency ${pyRepr(shown)} is not an ISO 4217 code with minor units (upper case, e.g. USD)`);
    currency = null;
  }
  let minor = null;
  if (amount !== null) {
    try {
      if (currency === null) checkAmountText(amount);
      else minor = parseAmount(amount, currency);
    } catch (error) {
      details.push(error.message);
    }
  }
  let utc = null;
  if (timestamp !== null) {
    try {
      utc = normalizedTimestamp(timestamp);
    } catch (error) {
      details.push(error.message ? `${TIMESTAMP_RULE} (${error.message})` : TIMESTAMP_RULE);
    }
  }
  if (entitlement !== null && !(isStr(entitlement) && ID_PATTERN.test(entitlement))) {
    details.push("entitlement_id must match [A-Za-z0-9_-]{1,64}");
  }
  if (description !== null && !(isStr(description) && pyLen(description) <= 1024 && description.isWellFormed())) {
    details.push(
      "usage_description must be a string of at most 1024 Unicode characters (no lone surrogate escapes)",
    );
  }
  const { kind, corrects } = checkCorrection(fields, details);
  if (details.length) return { problem: details.join("; ") };
  const amountText = formatAmount(minor, currency);
  return { key, customer, amount: amountText, currency, timestamp: utc, entitlement, description, kind, corrects };
}

// receipts/events.py _check_correction: type and corrects (contract v2).
function checkCorrection(fields, details) {
  let kind = fields.type ?? null;
  const corrects = fields.corrects ?? null;
  if (kind === null) kind = CHARGE;
  else if (kind !== CHARGE && kind !== CREDIT) {
    details.push(`type must be "${CHARGE}" or "${CREDIT}"`);
    return { kind: CHARGE, corrects: null };
  }
  if (kind === CREDIT && corrects === null) details.push("corrects is required for a credit");
  else if (kind === CHARGE && corrects !== null) details.push("corrects is for credits only: a charge corrects nothing");
  else if (corrects !== null && !(isStr(corrects) && RECEIPT_ID.test(corrects))) {
    details.push("corrects must be a receipt id: r_ and 26 base32 characters");
  }
  if (kind === CREDIT && fields.entitlement_id !== null) {
    details.push("a credit names no entitlement_id: it gives back the quota of the charge it corrects");
  }
  return { kind, corrects };
}

async function receiptId(customer, key) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(`${customer}\n${key}`)));
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let bits = 0;
  let buffer = 0;
  let out = "";
  for (const byte of digest.subarray(0, 20)) {
    buffer = ((buffer << 8) | byte) & 0xfff; // at most 12 bits are pending
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `r_${out.slice(0, 26)}`;
}

async function eventSha256(event) {
  const normalized = new Map([
    ["idempotent_key", event.key], ["customer_id", event.customer], ["amount", event.amount],
    ["currency", event.currency], ["timestamp", event.timestamp], ["entitlement_id", event.entitlement],
    ["usage_description", event.description],
  ]); // prettier-ignore
  if (event.kind === CREDIT) {
    normalized.set("type", CREDIT);
    normalized.set("corrects", event.corrects);
  }
  return sha256Hex(encoder.encode(canonicalJson(normalized)));
}

// v2's type and corrects, before the event fields (which hold them too) are checked.
function correctionProblem(kind, corrects) {
  if (kind !== CHARGE && kind !== CREDIT) return `type must be ${pyRepr(CHARGE)} or ${pyRepr(CREDIT)}`;
  if (kind === CHARGE && corrects !== null) return "corrects must be null for a charge";
  if (kind === CREDIT && !(isStr(corrects) && RECEIPT_ID.test(corrects))) {
    return "corrects must be a receipt id (r_ and 26 base32 characters) for a credit";
  }
  return null;
}

// The first way the signed body breaks the contract of its version, or null.
export async function contractProblem(body, headerKid) {
  const version = get(body, "v");
  const expected = isInt(version) && pyEq(version, 2n) ? BODY_FIELDS_V2 : BODY_FIELDS;
  const missing = pySorted(expected.filter((name) => !body.has(name)));
  const extra = pySorted([...body.keys()].filter((name) => !expected.includes(name)));
  if (missing.length || extra.length) return `body fields: missing ${pyRepr(missing)}, unexpected ${pyRepr(extra)}`;
  const field = (name) => body.get(name);
  if (!isInt(version) || !(pyEq(version, 1n) || pyEq(version, 2n))) return "v must be 1 or 2";
  if (pyEq(version, 2n)) {
    const problem = correctionProblem(field("type"), field("corrects"));
    if (problem) return problem;
  }
  const fields = Object.fromEntries(EVENT_FIELDS.map(([name, source]) => [name, field(source)]));
  for (const name of ["type", "corrects"]) if (body.has(name)) fields[name] = field(name);
  if (!isStr(fields.amount)) fields.amount = null; // a receipt's amount is text, never a JSON number
  const event = validateEvent(fields);
  if (event.problem) return `event fields: ${event.problem}`;
  if (event.amount !== field("amount")) {
    return `amount ${pyRepr(field("amount"))} must have exactly ${field("currency")}'s minor digits (${pyRepr(event.amount)})`;
  }
  if (event.timestamp !== field("event_timestamp")) {
    return `event_timestamp must be normalized to UTC (${pyRepr(event.timestamp)})`;
  }
  const id = await receiptId(event.customer, event.key);
  if (id !== field("receipt_id")) return `receipt_id is not derived from customer_id and idempotent_key (expected ${id})`;
  if ((await eventSha256(event)) !== field("event_sha256")) return "event_sha256 does not match the event fields in the body";
  const sequence = field("sequence");
  const previous = field("previous_receipt_hash");
  if (!isInt(sequence) || sequence < 1n) return "sequence must be an integer >= 1";
  if (!isStr(previous) || !HEX64.test(previous)) return "previous_receipt_hash must be 64 lowercase hex digits";
  if ((sequence === 1n) !== (previous === ZERO_HASH)) return "previous_receipt_hash must be 64 zeros exactly when sequence is 1";
  const status = field("status");
  const reason = field("reason");
  if (status !== ACCEPTED && status !== REJECTED) return `status must be ${pyRepr(ACCEPTED)} or ${pyRepr(REJECTED)}`;
  if ((status === ACCEPTED) !== (reason === null)) {
    return "reason must be null for an accepted receipt and a string for a rejected one";
  }
  if (reason !== null && !isStr(reason)) return "reason must be a string";
  if (parseBalance(field("balance_after"), field("currency")) === null) {
    return `balance_after must be a non-negative amount with ${pyStr(field("currency"))}'s minor digits`;
  }
  const remaining = field("quota_remaining");
  if (remaining !== null && !(isStr(remaining) && DECIMAL_TEXT.test(remaining))) {
    return "quota_remaining must be null or a decimal string";
  }
  const processed = field("processed_at");
  if (!isStr(processed) || !UTC_TIMESTAMP.test(processed)) return "processed_at must be an RFC 3339 UTC timestamp";
  if (!pyEq(field("kid"), headerKid)) {
    return `body kid ${pyRepr(field("kid"))} is not the JWS header kid ${pyRepr(headerKid)}`;
  }
  return null;
}
