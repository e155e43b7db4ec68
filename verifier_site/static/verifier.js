// Receipt verification in the browser with WebCrypto alone: it trusts the published JWKS
// and the receipts' own bytes, never the server's verdict. For each receipt it checks the
// JWS header (alg RS256, typ receipt+jws, kid), the RS256 signature with the JWKS key of
// that kid, that every exported field equals the signed payload's, and that SHA-256 of
// the payload bytes is receipt_hash. For a segment it also follows sequence numbers and
// previous_receipt_hash links. The payload is already RFC 8785 canonical bytes as signed,
// so the hash is taken over those bytes: no re-canonicalization here.

const ALG = "RS256";
const TYP = "receipt+jws";
const ZERO_HASH = "0".repeat(64);
const EXPORT_EXTRA_FIELDS = new Set(["receipt_hash", "signature"]);
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth"];
const MIN_KEY_BYTES = 256; // RSA-2048
const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
export const GROUPS = [
  ["signature", "Signature"],
  ["hash", "Canonical hash"],
  ["chain_link", "Chain link"],
];

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

function b64urlEncode(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function b64urlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error("not unpadded base64url");
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  if (b64urlEncode(bytes) !== text) throw new Error("non-canonical base64url");
  return bytes;
}

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

// JSON with object keys sorted at every level: equal values give equal text.
function sortedJson(value) {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  if (isObject(value)) {
    const names = Object.keys(value).sort();
    return `{${names.map((name) => `${JSON.stringify(name)}:${sortedJson(value[name])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// Receipts as `receipts export` writes them (JSONL split on "\n" only, since U+2028 may
// sit inside a string), a JSON array, or one (possibly pretty-printed) object.
export function readReceipts(text) {
  const receipts = [];
  const unreadable = [];
  const take = (item, line) =>
    isObject(item) ? receipts.push(item) : unreadable.push({ line, reason: "not a JSON object" });
  const stripped = text.replace(/^\uFEFF/, "").trim();
  if (stripped.startsWith("[")) {
    try {
      const items = JSON.parse(stripped);
      items.forEach((item, index) => take(item, index + 1));
    } catch (error) {
      unreadable.push({ line: 1, reason: `not valid JSON: ${error.message}` });
    }
    return { receipts, unreadable };
  }
  if (stripped.startsWith("{") && stripped.includes("\n")) {
    try {
      const item = JSON.parse(stripped);
      if (isObject(item)) return { receipts: [item], unreadable };
    } catch {
      // not one object: read it as JSONL below
    }
  }
  text.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    try {
      take(JSON.parse(line), index + 1);
    } catch (error) {
      unreadable.push({ line: index + 1, reason: `not valid JSON: ${error.message}` });
    }
  });
  return { receipts, unreadable };
}

// kid -> {key} or {problem}. A key is trusted only if its kid is its RFC 7638 thumbprint,
// it is an RS256 signing key of at least 2048 bits, and it carries no private members.
export async function importJwks(jwks) {
  const keys = new Map();
  if (!isObject(jwks) || !Array.isArray(jwks.keys)) throw new Error("a JWKS is a JSON object with a 'keys' array");
  for (const entry of jwks.keys) {
    const kid = isObject(entry) ? String(entry.kid) : "undefined";
    try {
      if (!isObject(entry) || entry.kty !== "RSA") throw new Error("not an RSA key");
      if ((entry.alg ?? ALG) !== ALG || (entry.use ?? "sig") !== "sig") throw new Error("not an RS256 signing key");
      const leaked = PRIVATE_JWK_MEMBERS.filter((name) => name in entry);
      if (leaked.length) throw new Error(`private key material in a JWKS (${leaked.join(", ")})`);
      if (typeof entry.n !== "string" || typeof entry.e !== "string") throw new Error("n and e must be strings");
      const thumbprint = b64urlEncode(
        new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(JSON.stringify({ e: entry.e, kty: "RSA", n: entry.n })))),
      );
      if (entry.kid !== thumbprint) throw new Error(`kid is not the key's RFC 7638 thumbprint (${thumbprint})`);
      if (b64urlDecode(entry.n).length < MIN_KEY_BYTES) throw new Error("key is shorter than 2048 bits");
      const key = await crypto.subtle.importKey("jwk", { kty: "RSA", n: entry.n, e: entry.e, alg: ALG, ext: true }, RSA, false, ["verify"]);
      keys.set(thumbprint, { key });
    } catch (error) {
      if (!keys.has(kid)) keys.set(kid, { problem: error.message });
    }
  }
  return keys;
}

function headerProblem(header) {
  if (!isObject(header)) return "the JWS header is not a JSON object";
  if (header.alg !== ALG) return `JWS alg must be ${ALG}, not ${JSON.stringify(header.alg)}`;
  if (header.typ !== TYP) return `JWS typ must be ${TYP}`;
  const unexpected = Object.keys(header).filter((name) => !["alg", "kid", "typ"].includes(name));
  if (unexpected.length) return `unexpected JWS header parameters ${unexpected.join(", ")}`;
  if (typeof header.kid !== "string") return "the JWS header has no kid";
  return null;
}

function firstDifference(receipt, body) {
  const exported = Object.keys(receipt).filter((name) => !EXPORT_EXTRA_FIELDS.has(name));
  for (const name of [...new Set([...exported, ...Object.keys(body)])].sort()) {
    if (!exported.includes(name) || !(name in body)) return name;
    if (sortedJson(receipt[name]) !== sortedJson(body[name])) return name;
  }
  return null;
}

async function verifyReceipt(receipt, keys) {
  const result = {
    receiptId: typeof receipt.receipt_id === "string" ? receipt.receipt_id : null,
    sequence: Number.isInteger(receipt.sequence) ? receipt.sequence : null,
    groups: { signature: [], hash: [], chain_link: [] },
    body: null,
    payloadHash: null,
  };
  const add = (group, check, ok, reason = "") => result.groups[group].push({ check, ok, reason });

  const parts = typeof receipt.signature === "string" ? receipt.signature.split(".") : [];
  let header;
  let payload;
  let signature;
  try {
    if (parts.length !== 3 || parts.some((part) => !part)) throw new Error("three non-empty dot-separated parts");
    header = JSON.parse(utf8.decode(b64urlDecode(parts[0])));
    payload = b64urlDecode(parts[1]);
    signature = b64urlDecode(parts[2]);
  } catch (error) {
    add("signature", "format", false, `signature is not a JWS compact serialization: ${error.message}`);
    return result;
  }
  add("signature", "format", true);

  const problem = headerProblem(header);
  add("signature", "header", !problem, problem ?? `alg ${ALG}, typ ${TYP}, kid ${header.kid}`);
  if (!problem) {
    const entry = keys.get(header.kid);
    if (!entry) {
      add("signature", "signature", false, `key ${header.kid} is not in the JWKS`);
    } else if (entry.problem) {
      add("signature", "signature", false, `key ${header.kid} in the JWKS is not trusted: ${entry.problem}`);
    } else {
      const signed = encoder.encode(`${parts[0]}.${parts[1]}`);
      const valid = await crypto.subtle.verify(RSA, entry.key, signature, signed);
      add("signature", "signature", valid, valid ? `RS256 by key ${header.kid}` : `RS256 signature does not verify with key ${header.kid}`);
    }
  }

  let body;
  try {
    body = JSON.parse(utf8.decode(payload));
    if (!isObject(body)) throw new Error("the payload is not a JSON object");
  } catch (error) {
    add("hash", "canonical", false, `signed payload: ${error.message}`);
    return result;
  }
  result.body = body;
  const mismatch = firstDifference(receipt, body);
  add("hash", "canonical", !mismatch, mismatch ? `exported field ${JSON.stringify(mismatch)} differs from the signed body` : "every exported field equals the signed one");
  if (!problem && body.kid !== header.kid) add("signature", "kid", false, `body kid ${JSON.stringify(body.kid)} is not the JWS header kid`);
  result.payloadHash = hex(await crypto.subtle.digest("SHA-256", payload));
  const hashOk = receipt.receipt_hash === result.payloadHash;
  add("hash", "hash", hashOk, hashOk ? `SHA-256 of the signed payload is ${result.payloadHash}` : `receipt_hash ${JSON.stringify(String(receipt.receipt_hash).slice(0, 64))} is not the SHA-256 of the signed payload (${result.payloadHash})`);
  return result;
}

// Verify receipts in the given order, then the links between each customer's receipts.
export async function verifySegment(receipts, jwks) {
  const keys = await importJwks(jwks);
  const results = [];
  for (const receipt of receipts) results.push(await verifyReceipt(receipt, keys));
  const previous = new Map();
  for (const result of results) {
    const body = result.body;
    if (!body) continue;
    const add = (check, ok, reason = "") => result.groups.chain_link.push({ check, ok, reason });
    const customer = String(body.customer_id);
    const before = previous.get(customer);
    if (!before) {
      if (body.sequence === 1) {
        const ok = body.previous_receipt_hash === ZERO_HASH;
        add("chain_link", ok, ok ? "first receipt of the chain: previous_receipt_hash is 64 zeros" : "sequence 1 must have 64 zeros as previous_receipt_hash");
      } else {
        add("sequence", true, `first receipt of this customer in the input: its link to #${body.sequence - 1} is not checked here`);
      }
    } else {
      const expected = before.body.sequence + 1;
      add("sequence", body.sequence === expected, body.sequence === expected ? "" : `sequence ${body.sequence} follows ${before.body.sequence}; expected ${expected}`);
      const linked = body.previous_receipt_hash === before.payloadHash;
      add(
        "chain_link",
        linked,
        linked
          ? `previous_receipt_hash is the hash of #${before.body.sequence}`
          : `previous_receipt_hash ${String(body.previous_receipt_hash).slice(0, 16)}… is not the hash of the receipt before it, sequence ${before.body.sequence} (${before.payloadHash.slice(0, 16)}…)`,
      );
    }
    previous.set(customer, result);
  }
  for (const result of results) {
    const groups = Object.values(result.groups);
    result.ok = groups.every((items) => items.length > 0 && items.every((item) => item.ok));
  }
  return results;
}
