// Receipt verification in the browser, with WebCrypto and the published JWKS alone: it
// never asks the server for a verdict. It is receipts/verify.py ported check for check, so
// for any input it reaches the server's answer: the same checks, in the same order, with
// the same results and reasons. tests/vectors/receipts.json holds both to that.
//
// Per receipt: format (a compact JWS of strict base64url, its header UTF-8 JSON),
// signature (RS256, header exactly alg/kid/typ, the JWKS key whose kid is its RFC 7638
// thumbprint, 2048 bits or more), canonical (the payload is UTF-8 RFC 8785 JSON, and every
// exported field equals the signed one), hash (receipt_hash is SHA-256 of the payload),
// contract (contract.js). Per customer, in the given order: idempotency, sequence,
// chain_link, balance. A check with nothing to compare with passes as "not checked: ...".
import { ACCEPTED, CREDIT, contractProblem, formatAmount, get, parseAmount, parseBalance, sha256Hex } from "./contract.js";
import { JsonError, canonicalJson, parseJson } from "./json.js";
import { isDict, isInt, isStr, pyEq, pyRepr, pySlice, pySorted, pyStr, pyStrip } from "./python.js";

export const [FORMAT, SIGNATURE, CANONICAL, HASH, CONTRACT] = ["format", "signature", "canonical", "hash", "contract"];
export const [SEQUENCE, CHAIN_LINK, BALANCE, IDEMPOTENCY] = ["sequence", "chain_link", "balance", "idempotency"];
export const NOT_CHECKED = "not checked";
export const KEY_ENDORSEMENT = "key_endorsement"; // with delegations (delegation.js): the key is an HSM key or endorsed
const ALG = "RS256";
const TYP = "receipt+jws";
const EXPORT_EXTRA_FIELDS = ["receipt_hash", "signature"];
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth"];
const MIN_KEY_BITS = 2048;
const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // a BOM is a character, not skipped
const encoder = new TextEncoder();

function b64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function b64urlDecode(text) {
  if (text.includes("=") || text.length % 4 === 1) throw new Error("not unpadded base64url");
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("non-canonical base64url");
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  if (b64url(bytes) !== text) throw new Error("non-canonical base64url");
  return bytes;
}

export function splitCompact(token) {
  if (!isStr(token) || !/^[\0-\x7f]*$/.test(token)) throw new Error("a compact JWS is an ASCII string");
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((part) => !part)) {
    throw new Error("a compact JWS has three non-empty dot-separated parts");
  }
  return parts;
}

// The trusted keys of a JWKS (its JSON text): {keys: kid -> CryptoKey, problems: kid -> why not}.
export async function trustedKeys(jwksText) {
  const document = parseJson(jwksText);
  const entries = isDict(document) ? get(document, "keys") : null;
  if (!Array.isArray(entries)) throw new Error("a JWKS is a JSON object with a 'keys' array");
  const keys = new Map();
  const problems = new Map();
  for (const entry of entries) {
    const kid = isDict(entry) ? get(entry, "kid") : null;
    try {
      if (!isDict(entry) || get(entry, "kty") !== "RSA") throw new Error("not an RSA key");
      const alg = entry.has("alg") ? entry.get("alg") : ALG;
      if (alg !== ALG || (entry.has("use") ? entry.get("use") : "sig") !== "sig") throw new Error("not an RS256 signing key");
      const leaked = pySorted(PRIVATE_JWK_MEMBERS.filter((name) => entry.has(name)));
      if (leaked.length) throw new Error(`private key material in a JWKS (${leaked.join(", ")}): the key is compromised`);
      const [n, e] = [get(entry, "n"), get(entry, "e")];
      if (!isStr(n) || !isStr(e)) throw new Error("n and e must be base64url strings");
      const members = `{"e":${JSON.stringify(e)},"kty":"RSA","n":${JSON.stringify(n)}}`; // RFC 7638
      const thumbprint = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(members))));
      if (kid !== null && kid !== thumbprint) throw new Error(`kid is not the key's RFC 7638 thumbprint (${thumbprint})`);
      const modulus = Array.from(b64urlDecode(n), (byte) => byte.toString(16).padStart(2, "0")).join("");
      const bits = modulus ? BigInt(`0x${modulus}`).toString(2).length : 0;
      if (bits < MIN_KEY_BITS) throw new Error(`key is ${bits} bits; at least ${MIN_KEY_BITS} required`);
      const jwk = { kty: "RSA", n, e, alg: ALG, ext: true };
      keys.set(thumbprint, await crypto.subtle.importKey("jwk", jwk, RSA, false, ["verify"]));
    } catch (error) {
      problems.set(pyStr(kid), error.message || error.name);
    }
  }
  return { keys, problems };
}

function headerProblem(header, typ = TYP) {
  if (!isDict(header)) return "the JWS header is not a JSON object";
  if (get(header, "alg") !== ALG) return `JWS alg must be ${ALG}, not ${pyRepr(pySlice(pyStr(get(header, "alg")), 20))}`;
  if (get(header, "typ") !== typ) return `JWS typ must be ${pyRepr(typ)}`;
  const unexpected = pySorted([...header.keys()].filter((name) => !["alg", "kid", "typ"].includes(name)));
  if (unexpected.length) return `unexpected JWS header parameters ${pyRepr(unexpected)}`;
  if (!isStr(get(header, "kid"))) return "the JWS header has no kid";
  return null;
}

export async function signatureProblem({ keys, problems }, kid, signingInput, signature) {
  const key = keys.get(kid);
  if (!key) {
    return problems.has(kid) ? `key ${kid} in the JWKS is not trusted: ${problems.get(kid)}` : `key ${kid} is not in the JWKS`;
  }
  const valid = await crypto.subtle.verify(RSA, key, signature, encoder.encode(signingInput));
  return valid ? null : `RS256 signature does not verify with key ${kid}`;
}

// A compact JWS of the given typ (a statement's is "statement+jws"), checked as a receipt's is:
// {format, signature} problems (null when fine), the signing kid and the payload's bytes.
export async function verifyJws(token, trusted, typ) {
  let parts, header, payload, signature;
  try {
    parts = splitCompact(token);
    header = parseJson(utf8.decode(b64urlDecode(parts[0])));
    payload = b64urlDecode(parts[1]);
    signature = b64urlDecode(parts[2]);
  } catch (error) {
    return { format: `not a JWS compact serialization: ${pySlice(error.message, 200)}`, signature: null, kid: null };
  }
  const kid = isDict(header) ? get(header, "kid") : null;
  const problem = headerProblem(header, typ) ?? (await signatureProblem(trusted, kid, `${parts[0]}.${parts[1]}`, signature));
  return { format: null, signature: problem, kid, payload };
}

// Python's `type(a) is type(b)` equality, all the way down (so True is not 1).
function sameValues(a, b) {
  const kind = (v) => (v === null ? "none" : Array.isArray(v) ? "list" : isDict(v) ? "dict" : typeof v);
  if (kind(a) !== kind(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((item, i) => sameValues(item, b[i]));
  if (isDict(a)) return a.size === b.size && [...a].every(([name, value]) => b.has(name) && sameValues(value, b.get(name)));
  return a === b;
}

const canonicalOrNull = (value) => {
  try {
    return canonicalJson(value);
  } catch {
    return null;
  }
};

// Every field, sorted, that one record lacks or holds with another value (as RFC 8785 JSON).
function differingFields(first, second) {
  const names = pySorted(new Set([...first.keys(), ...second.keys()]));
  return names.filter((name) => {
    if (!first.has(name) || !second.has(name)) return true;
    const mine = canonicalOrNull(new Map([["x", first.get(name)]]));
    return mine === null || mine !== canonicalOrNull(new Map([["x", second.get(name)]]));
  });
}

// One exported receipt (a Map, as parseJson reads it): its JWS, payload, hash and contract.
export async function verifyReceipt(receipt, trusted, delegations = null) {
  const checks = [];
  const add = (check, ok, reason = "") => checks.push({ step: checks.length + 1, check, ok, reason });
  if (!isDict(receipt)) {
    add(FORMAT, false, "a receipt is a JSON object");
    return { receiptId: null, customerId: null, sequence: null, checks, body: null, payloadHash: null };
  }
  const claim = (name, test) => (test(get(receipt, name)) ? get(receipt, name) : null);
  const result = {
    receiptId: claim("receipt_id", isStr),
    customerId: claim("customer_id", isStr),
    sequence: claim("sequence", isInt),
    checks,
    body: null,
    payloadHash: null,
  };
  let parts, header, payload, signature;
  try {
    parts = splitCompact(get(receipt, "signature"));
    header = parseJson(utf8.decode(b64urlDecode(parts[0])));
    payload = b64urlDecode(parts[1]);
    signature = b64urlDecode(parts[2]);
  } catch (error) {
    add(FORMAT, false, `signature is not a JWS compact serialization: ${pySlice(error.message, 200)}`);
    return result;
  }
  add(FORMAT, true);

  const kid = isDict(header) ? get(header, "kid") : null;
  const problem = headerProblem(header) ?? (await signatureProblem(trusted, kid, `${parts[0]}.${parts[1]}`, signature));
  add(SIGNATURE, !problem, problem ?? `RS256 by key ${kid}`);

  let body, text;
  try {
    text = utf8.decode(payload);
    body = parseJson(text);
    if (!isDict(body)) throw new JsonError("the payload is not a JSON object");
    if (canonicalJson(body) !== text) throw new JsonError("the payload is not in RFC 8785 canonical form");
  } catch (error) {
    add(CANONICAL, false, `signed payload: ${pySlice(error.message, 200)}`);
    return result;
  }
  const exported = new Map([...receipt].filter(([name]) => !EXPORT_EXTRA_FIELDS.includes(name)));
  const same = sameValues(exported, body) || canonicalOrNull(exported) === text;
  const differing = same ? null : (differingFields(exported, body)[0] ?? null);
  add(CANONICAL, same, same ? "" : `exported field ${pyRepr(differing)} differs from the signed body`);

  const payloadHash = await sha256Hex(payload);
  const claimed = get(receipt, "receipt_hash");
  const hashed = pyEq(claimed, payloadHash);
  const shown = pyRepr(pySlice(pyStr(claimed), 64));
  add(HASH, hashed, hashed ? "" : `receipt_hash ${shown} is not the SHA-256 of the signed payload (${payloadHash})`);

  const broken = await contractProblem(body, kid);
  add(CONTRACT, !broken, broken ?? "");
  if (delegations) add(KEY_ENDORSEMENT, ...delegations.check(body));
  return { ...result, body, payloadHash };
}

// Does balance_after move by exactly the accepted amount (down for a v2 credit) since the last one seen? [ok, reason]
function balanceCheck(body, balances, fromStart) {
  const currency = get(body, "currency");
  const after = parseBalance(get(body, "balance_after"), currency);
  if (after === null) return [true, `${NOT_CHECKED}: balance_after or currency is malformed (see the contract check)`];
  const key = JSON.stringify([pyStr(get(body, "customer_id")), pyStr(currency)]);
  const known = balances.has(key) ? balances.get(key) : fromStart ? 0n : null;
  balances.set(key, after);
  if (known === null) return [true, `${NOT_CHECKED}: no earlier balance in ${currency} was given to compare with`];
  const amount = get(body, "amount");
  let charged = 0n;
  if (pyEq(get(body, "status"), ACCEPTED)) {
    try {
      if (!isStr(amount)) throw new Error("not text");
      charged = parseAmount(amount, currency);
    } catch {
      return [true, `${NOT_CHECKED}: the amount is malformed (see the contract check)`];
    }
  }
  let how = charged ? " plus the accepted amount" : ", nothing charged";
  if (charged && pyEq(get(body, "type"), CREDIT)) {
    charged = -charged; // a v2 credit moves the balance down
    how = " less the credited amount";
  }
  if (after === known + charged) return [true, ""];
  return [
    false,
    `balance_after ${get(body, "balance_after")} ${currency} should be ${formatAmount(known + charged, currency)}: ` +
      `the previous balance ${formatAmount(known, currency)}${how}`,
  ];
}

// Verify each receipt, then the links between them, per customer in the given order.
export async function verifyChain(receipts, trusted, delegations = null) {
  const results = [];
  for (const receipt of receipts) results.push(await verifyReceipt(receipt, trusted, delegations));
  const previous = new Map();
  const balances = new Map();
  const fromStart = new Set();
  const firstLine = new Map();
  results.forEach((result, index) => {
    const body = result.body;
    if (!body) return;
    const add = (check, ok, reason = "") => result.checks.push({ step: result.checks.length + 1, check, ok, reason });
    const customer = pyStr(get(body, "customer_id"));
    const sequence = get(body, "sequence");
    const ids = [["id", pyStr(get(body, "receipt_id"))], ["key", customer, pyStr(get(body, "idempotent_key"))]].map(
      (id) => JSON.stringify(id),
    );
    const repeats = ids.filter((id) => firstLine.has(id)).map((id) => firstLine.get(id));
    const repeated = repeats.length ? `repeats the receipt id or idempotency key of line ${repeats[0] + 1}` : "";
    add(IDEMPOTENCY, !repeats.length, repeated);
    for (const id of ids) if (!firstLine.has(id)) firstLine.set(id, index);

    const before = previous.get(customer);
    if (!before && pyEq(sequence, 1n)) {
      fromStart.add(customer);
      add(SEQUENCE, true, "sequence 1: the start of this customer's chain");
    } else if (!before) {
      const why = "the receipt before this one was not given, so neither its sequence nor its chain link can be compared";
      add(SEQUENCE, true, `${NOT_CHECKED}: ${why}`);
    } else {
      const last = get(before.body, "sequence");
      const expected = isInt(last) ? last + 1n : null;
      const follows = pyEq(sequence, expected);
      const order = `sequence ${pyStr(sequence)} follows ${pyStr(last)}; expected ${pyStr(expected)}`;
      add(SEQUENCE, follows, follows ? "" : order);
      const linked = pyEq(get(body, "previous_receipt_hash"), before.payloadHash);
      const claimed = pySlice(pyStr(get(body, "previous_receipt_hash")), 16);
      const link =
        `previous_receipt_hash ${claimed}… is not the hash of the receipt before it, ` +
        `sequence ${pyStr(last)} (${before.payloadHash.slice(0, 16)}…)`;
      add(CHAIN_LINK, linked, linked ? "" : link);
    }
    previous.set(customer, result);
    add(BALANCE, ...balanceCheck(body, balances, fromStart.has(customer)));
  });
  return results.map((result) => ({ ...result, ok: result.checks.every((check) => check.ok) }));
}

// Receipts a person hands over, read as receipts/reading.py reads them: a JSON array, one
// (pretty-printed) object, or JSONL split on "\n" only (U+2028 may sit raw inside strings).
// Lines that are no receipt are named by number.
export function readReceipts(input) {
  const receipts = [];
  const unreadable = [];
  const take = (item, line) =>
    isDict(item) ? receipts.push(item) : unreadable.push({ line, reason: "not a JSON object" });
  const text = input.replace(/^\uFEFF+/, "");
  const stripped = pyStrip(text);
  const parse = (source, line) => {
    try {
      return { item: parseJson(source) };
    } catch (error) {
      unreadable.push({ line, reason: `not valid JSON: ${error.message}` });
      return null;
    }
  };
  if (stripped.startsWith("[")) {
    const read = parse(stripped, 1);
    if (read) read.item.forEach((item, index) => take(item, index + 1));
    return { receipts, unreadable };
  }
  if (stripped.startsWith("{") && stripped.includes("\n")) {
    try {
      const item = parseJson(stripped);
      if (isDict(item)) return { receipts: [item], unreadable };
    } catch {
      // not one object: read it as JSONL below
    }
  }
  text.split("\n").forEach((line, index) => {
    if (!pyStrip(line)) return;
    const read = parse(line, index + 1);
    if (read) take(read.item, index + 1);
  });
  return { receipts, unreadable };
}
