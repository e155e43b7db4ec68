// Delegated signing keys in the browser: receipts/delegation.py ported, so the key_endorsement
// check gives the server's result and reason. The key-endorsements document
// (/.well-known/key-endorsements.json) names the HSM keys (roots); each endorsement and
// revocation is a JWS by one of them, checked here with WebCrypto against the JWKS, never
// taken on the server's word. A receipt's key passes when it is a root, or endorsed by one for
// a window [not_before, not_after) holding its processed_at, and not revoked at or before it.
import { get } from "./contract.js";
import { canonicalJson, parseJson } from "./json.js";
import { isDict, isStr, pyRepr, pySlice, pyStr } from "./python.js";
import { b64urlDecode, signatureProblem, splitCompact, trustedKeys } from "./verifier.js";

const ENDORSEMENT_TYP = "key-endorsement+jws";
const REVOCATION_TYP = "key-revocation+jws";
const MAX_WINDOW_SECONDS = 31n * 86400n;
const INSTANT = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z$/;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const sameSet = (names, wanted) => names.length === wanted.length && wanted.every((name) => names.includes(name));

// An RFC 3339 UTC instant as microseconds since the epoch (a BigInt); an Error otherwise.
function instant(text) {
  const match = isStr(text) ? INSTANT.exec(text) : null;
  if (!match) throw new Error(`${pyRepr(pySlice(pyStr(text), 40))} is not an RFC 3339 UTC instant`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const millis = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(millis);
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1 || hour > 23 || minute > 59 || second > 59) {
    throw new Error(`${pyRepr(pySlice(text, 40))} is not an RFC 3339 UTC instant`);
  }
  return BigInt(millis) * 1000n + BigInt((match[7] ?? "").padEnd(6, "0"));
}

// Whole seconds, as receipts.delegation.rfc3339 writes them.
const rfc3339 = (micros) => `${new Date(Number(micros / 1000000n) * 1000).toISOString().slice(0, 19)}Z`;

async function signedBody(token, typ, trusted, roots) {
  const [headerText, payloadText, signatureText] = splitCompact(token);
  const header = parseJson(utf8.decode(b64urlDecode(headerText)));
  if (!isDict(header) || !sameSet([...header.keys()], ["alg", "kid", "typ"])) {
    throw new Error("the JWS header must be exactly alg, kid, typ");
  }
  if (header.get("alg") !== "RS256" || header.get("typ") !== typ) throw new Error(`the JWS must be RS256 with typ ${typ}`);
  const kid = header.get("kid");
  if (!roots.has(kid)) throw new Error(`signed by ${pySlice(pyStr(kid), 43)}, which is not an HSM (root) key`);
  const problem = await signatureProblem(trusted, kid, `${headerText}.${payloadText}`, b64urlDecode(signatureText));
  if (problem) throw new Error(problem);
  const text = utf8.decode(b64urlDecode(payloadText));
  const body = parseJson(text);
  if (!isDict(body) || canonicalJson(body) !== text) throw new Error("the payload is not an RFC 8785 JSON object");
  if (body.get("v") !== 1n) throw new Error("v must be 1");
  return [body, kid];
}

async function endorsement(token, trusted, roots) {
  const [body, signer] = await signedBody(token, ENDORSEMENT_TYP, trusted, roots);
  if (!sameSet([...body.keys()], ["v", "jwk", "not_before", "not_after", "endorsing_kid"])) {
    throw new Error("an endorsement body has exactly v, jwk, not_before, not_after, endorsing_kid");
  }
  if (body.get("endorsing_kid") !== signer) throw new Error("endorsing_kid is not the kid that signed the endorsement");
  const jwk = body.get("jwk");
  const kid = isDict(jwk) ? get(jwk, "kid") : null;
  const own = isDict(jwk) ? await trustedKeys(canonicalJson(new Map([["keys", [jwk]]]))) : null;
  if (!own || !own.keys.has(kid)) throw new Error("the endorsed key is not a usable RS256 key");
  const [notBefore, notAfter] = [instant(body.get("not_before")), instant(body.get("not_after"))];
  if (!(notBefore < notAfter && notAfter <= notBefore + MAX_WINDOW_SECONDS * 1000000n)) {
    throw new Error("the validity window is empty or longer than 31 days");
  }
  return { kid, notBefore, notAfter };
}

async function revocation(token, trusted, roots) {
  const [body, signer] = await signedBody(token, REVOCATION_TYP, trusted, roots);
  if (!sameSet([...body.keys()], ["v", "kid", "revoked_at", "reason", "revoking_kid"])) {
    throw new Error("a revocation body has exactly v, kid, revoked_at, reason, revoking_kid");
  }
  const kid = body.get("kid");
  if (body.get("revoking_kid") !== signer || !isStr(kid) || !/^[A-Za-z0-9_-]{43}$/.test(kid)) {
    throw new Error("revoking_kid is not the signer's, or kid is not a key id");
  }
  if (!isStr(body.get("reason"))) throw new Error("reason is a string");
  return { kid, revokedAt: instant(body.get("revoked_at")), reason: body.get("reason") };
}

// The delegations a key-endorsements document (its JSON text) holds, as far as they verify
// with the trusted keys (trustedKeys(jwks)): { check(body) -> [ok, reason], problems, endorsements (a count) }.
export async function trustedDelegations(documentText, trusted) {
  const document = parseJson(documentText);
  const lists = ["roots", "endorsements", "revocations"].map((name) => (isDict(document) ? get(document, name) ?? [] : null));
  if (!lists.every((items) => Array.isArray(items) && items.every(isStr))) {
    throw new Error("roots, endorsements and revocations are lists of strings");
  }
  const roots = new Set(lists[0].filter((kid) => trusted.keys.has(kid)));
  const endorsed = new Map();
  const revoked = new Map();
  const problems = [];
  for (const token of lists[1]) {
    try {
      const found = await endorsement(token, trusted, roots);
      if (!endorsed.has(found.kid)) endorsed.set(found.kid, found);
    } catch (error) {
      problems.push(`endorsement: ${pySlice(error.message, 200)}`);
    }
  }
  for (const token of lists[2]) {
    try {
      const found = await revocation(token, trusted, roots);
      const known = revoked.get(found.kid);
      if (!known || found.revokedAt < known.revokedAt) revoked.set(found.kid, found); // the earliest counts
    } catch (error) {
      problems.push(`revocation: ${pySlice(error.message, 200)}`);
    }
  }
  return { check: (body) => check(roots, endorsed, revoked, body), problems, endorsements: lists[1].length };
}

// receipts.verify.key_endorsement_check: [ok, reason].
function check(roots, endorsed, revoked, body) {
  const kid = get(body, "kid");
  const processedAt = get(body, "processed_at");
  if (roots.has(kid)) return [true, `key ${kid} is an HSM key`];
  const found = endorsed.get(kid);
  if (!found) return [false, `no_endorsement: key ${pySlice(pyStr(kid), 43)} is neither an HSM key nor endorsed by one`];
  let at;
  try {
    at = instant(processedAt);
  } catch {
    return [false, `outside_key_window: processed_at ${pyRepr(pySlice(pyStr(processedAt), 40))} is not an RFC 3339 UTC instant`];
  }
  if (!(found.notBefore <= at && at < found.notAfter)) {
    const window = `[${rfc3339(found.notBefore)}, ${rfc3339(found.notAfter)})`;
    return [false, `outside_key_window: processed_at ${processedAt} is outside key ${kid}'s window ${window}`];
  }
  const revocation = revoked.get(kid);
  if (revocation && at >= revocation.revokedAt) {
    const reason = pySlice(revocation.reason, 100);
    return [
      false,
      `key_revoked: key ${kid} was revoked at ${rfc3339(revocation.revokedAt)} (${reason}), before processed_at ${processedAt}`,
    ];
  }
  return [true, `key ${kid} is endorsed by the HSM key for this time`];
}
