// "Verify in my browser" on a statement's page: fetches the statement, its lines and each
// line's signed receipt, and the public keys, and recomputes without trusting the server's
// verdict: the statement's RS256 JWS (typ statement+jws) with WebCrypto, its RFC 8785 payload
// and statement_hash; every line's receipt (verifier.js, the same checks as a receipt's page);
// that each receipt belongs on this statement (receipts/statements/lines.py's rule); the lines'
// count and RFC 6962 root (tlog.js); and every total per currency in BigInt minor units, never
// a float. Results are text (textContent), made visible (text.js), producer text in <bdi>.
import { ACCEPTED, CREDIT, formatAmount, get, parseAmount, sha256Hex } from "./contract.js";
import { canonicalJson, parseJson } from "./json.js";
import { isDict, isInt, isStr, pyRepr, pyStr } from "./python.js";
import { visible } from "./text.js";
import { hex, treeHash } from "./tlog.js";
import { trustedKeys, verifyJws, verifyReceipt } from "./verifier.js";

const TYP = "statement+jws";
const EXPORT_EXTRA_FIELDS = ["statement_hash", "signature"];
const TOTAL_FIELDS = ["accepted", "charged", "credited", "late_lines", "late_net", "net", "rejected"];
const UTC_TEXT = /^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?Z$/;
const MARKS = { pass: "✓", fail: "✗", unchecked: "–" };
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = visible(text);
  return node;
}

// A receipt's UTC time as text that sorts by instant, whatever its fraction digits.
function instant(text) {
  const match = isStr(text) ? UTC_TEXT.exec(text) : null;
  if (!match) throw new Error(`not an RFC 3339 UTC timestamp: ${pyRepr(pyStr(text).slice(0, 40))}`);
  return `${match[1]}.${(match[2] ?? "").padEnd(9, "0")}`;
}

const kindOf = (body) => (get(body, "v") === 1n ? "charge" : (get(body, "type") ?? "charge"));
const canonicalOrNull = (value) => {
  try {
    return canonicalJson(value);
  } catch {
    return null;
  }
};
const sameJson = (a, b) => canonicalOrNull(new Map([["x", a]])) === canonicalOrNull(new Map([["x", b]]));

// The statement's own JWS, payload and hash: [checks, signed body or null].
async function checkSigned(statement, keys, add) {
  const signed = await verifyJws(get(statement, "signature"), keys, TYP);
  if (signed.format) {
    add("signature", false, `signature is ${signed.format}`);
    return null;
  }
  add("signature", !signed.signature, signed.signature ?? `RS256 by key ${signed.kid}`);
  let body, text;
  try {
    text = utf8.decode(signed.payload);
    body = parseJson(text);
    if (!isDict(body)) throw new Error("the payload is not a JSON object");
    if (canonicalJson(body) !== text) throw new Error("the payload is not in RFC 8785 canonical form");
  } catch (error) {
    add("canonical", false, `signed payload: ${error.message}`);
    return null;
  }
  const exported = new Map([...statement].filter(([name]) => !EXPORT_EXTRA_FIELDS.includes(name)));
  const names = [...new Set([...exported.keys(), ...body.keys()])].sort();
  const differing = names.find((name) => !exported.has(name) || !body.has(name) || !sameJson(exported.get(name), body.get(name)));
  add("canonical", differing === undefined, differing === undefined ? "" : `exported field ${pyRepr(differing)} differs from the signed body`);
  const hash = await sha256Hex(signed.payload);
  const claimed = get(statement, "statement_hash");
  add("hash", claimed === hash, claimed === hash ? "" : `statement_hash is not the SHA-256 of the signed payload (${hash})`);
  return body;
}

// Every line's receipt verifies, is this customer's, and sits in order up to the close: the signed bodies.
async function checkReceipts(body, lines, receipts, keys, add) {
  if (!Array.isArray(lines) || !Array.isArray(receipts) || lines.length !== receipts.length) {
    add("receipts", false, "the site sent lines and receipts that do not pair up");
    return null;
  }
  const bodies = [];
  let last = 0n;
  for (const [index, receipt] of receipts.entries()) {
    const result = await verifyReceipt(receipt, keys);
    const failed = result.checks.find((check) => !check.ok);
    const id = pyStr(result.receiptId);
    if (failed) {
      add("receipts", false, `receipt ${id} does not verify: ${failed.check}: ${failed.reason}`);
      return null;
    }
    const signed = result.body;
    const sequence = get(signed, "sequence");
    const line = lines[index];
    if (get(signed, "customer_id") !== get(body, "customer_id")) {
      add("receipts", false, `receipt ${id} is not ${pyStr(get(body, "customer_id"))}'s`);
      return null;
    }
    if (!isInt(sequence) || sequence <= last || sequence > get(body, "closing_sequence")) {
      add("receipts", false, `receipt ${id} (sequence ${pyStr(sequence)}) is out of order or after the close`);
      return null;
    }
    if (!isDict(line) || get(line, "receipt_id") !== id || get(line, "receipt_hash") !== result.payloadHash) {
      add("receipts", false, `line ${index + 1} does not name receipt ${id} and its hash`);
      return null;
    }
    last = sequence;
    bodies.push({ signed, hash: result.payloadHash });
  }
  add("receipts", true, `${bodies.length} receipt(s): every signature, hash and contract check passed`);
  return bodies;
}

// Each receipt is a line of this period (or a late one), then the count and the RFC 6962 root.
async function checkLines(body, bodies, add) {
  const start = instant(get(body, "period_start"));
  const end = instant(get(body, "period_end"));
  const late = [];
  for (const { signed } of bodies) {
    const when = instant(get(signed, "event_timestamp"));
    const sequence = get(signed, "sequence");
    if (start <= when && when < end) late.push(false);
    else if (when < start && sequence > get(body, "previous_closing_sequence")) late.push(true);
    else {
      add("lines", false, `sequence ${pyStr(sequence)} (event time ${get(signed, "event_timestamp")}) is not a line of ${get(body, "period")}`);
      return null;
    }
  }
  const root = Array.from(await treeHash(bodies.map(({ hash }) => hex(hash))), (b) => b.toString(16).padStart(2, "0")).join("");
  const count = BigInt(bodies.length);
  if (count !== get(body, "line_count") || root !== get(body, "lines_root")) {
    add(
      "lines",
      false,
      `the receipts give ${count} line(s) with root ${root.slice(0, 16)}…; the statement says ` +
        `${pyStr(get(body, "line_count"))} with root ${pyStr(get(body, "lines_root")).slice(0, 16)}…`,
    );
    return null;
  }
  add("lines", true, `${count} line(s), RFC 6962 root ${root.slice(0, 16)}…`);
  return late;
}

// receipts/statements/lines.py totals(), in BigInt minor units.
function recomputeTotals(bodies, late) {
  const sums = new Map();
  bodies.forEach(({ signed }, index) => {
    const currency = get(signed, "currency");
    if (!sums.has(currency)) {
      sums.set(currency, { charged: 0n, credited: 0n, accepted: 0n, rejected: 0n, late_lines: 0n, late_net: 0n });
    }
    const entry = sums.get(currency);
    if (late[index]) entry.late_lines += 1n;
    if (get(signed, "status") !== ACCEPTED) {
      entry.rejected += 1n;
      return;
    }
    entry.accepted += 1n;
    const amount = parseAmount(get(signed, "amount"), currency);
    const credit = kindOf(signed) === CREDIT;
    if (credit) entry.credited += amount;
    else entry.charged += amount;
    if (late[index]) entry.late_net += credit ? -amount : amount;
  });
  const totals = new Map();
  for (const currency of [...sums.keys()].sort()) {
    const entry = sums.get(currency);
    totals.set(
      currency,
      new Map([
        ["accepted", entry.accepted],
        ["charged", formatAmount(entry.charged, currency)],
        ["credited", formatAmount(entry.credited, currency)],
        ["late_lines", entry.late_lines],
        ["late_net", formatAmount(entry.late_net, currency)],
        ["net", formatAmount(entry.charged - entry.credited, currency)],
        ["rejected", entry.rejected],
      ]),
    );
  }
  return totals;
}

function totalsDifference(mine, theirs, where) {
  if (!isDict(theirs)) return `the totals ${where} are not an object of currencies`;
  for (const currency of [...new Set([...mine.keys(), ...theirs.keys()])].sort()) {
    const [a, b] = [mine.get(currency), theirs.get(currency)];
    if (!a || !isDict(b)) return `${currency}: the statement ${where} ${a ? "lacks" : "has"} totals the lines do not give`;
    const name = TOTAL_FIELDS.find((field) => !sameJson(a.get(field), b.get(field)));
    if (name) return `totals.${currency}.${name} is ${pyRepr(pyStr(b.get(name)))} ${where}; the lines add up to ${pyRepr(pyStr(a.get(name)))}`;
  }
  return null;
}

export async function verifyStatement(data, keys) {
  const checks = [];
  const add = (check, ok, reason = "") => checks.push({ check, ok, reason });
  const statement = isDict(data) ? get(data, "statement") : null;
  if (!isDict(statement)) {
    add("format", false, "the site sent no statement");
    return checks;
  }
  const body = await checkSigned(statement, keys, add);
  if (!body) return checks;
  const bodies = await checkReceipts(body, get(data, "lines"), get(data, "receipts"), keys, add);
  if (!bodies) return checks;
  const late = await checkLines(body, bodies, add);
  if (!late) return checks;
  const totals = recomputeTotals(bodies, late);
  const problem = totalsDifference(totals, get(body, "totals"), "as signed") ?? totalsDifference(totals, get(statement, "totals"), "on this page");
  add("totals", !problem, problem ?? `${totals.size} currenc${totals.size === 1 ? "y" : "ies"} add up`);
  add("complete", true, "not checked here: that no other receipt of the chain belongs on it needs the whole chain (the site's lines check above)");
  return checks;
}

function render(container, checks) {
  const ok = checks.every((check) => check.ok);
  const failed = checks.filter((check) => !check.ok).map((check) => check.check);
  const verdict = ok
    ? `Verified in your browser: every check passed (${checks.filter((c) => !c.reason.startsWith("not checked")).map((c) => c.check).join(", ")}).`
    : `Verification FAILED in your browser: ${failed.join(", ")}.`;
  const list = element("ul", "checks");
  for (const check of checks) {
    const state = !check.ok ? "fail" : check.reason.startsWith("not checked") ? "unchecked" : "pass";
    const item = element("li", `check ${state}`);
    item.dataset.check = check.check;
    const reason = element("bdi", "", check.reason || (check.ok ? "passed" : "failed"));
    item.append(element("span", "mark", MARKS[state]), element("strong", "", check.check), document.createTextNode(" "), reason);
    list.append(item);
  }
  container.replaceChildren(element("p", `verdict ${ok ? "pass" : "fail"}`, verdict), list);
  container.dataset.state = ok ? "pass" : "fail";
}

async function fetchText(url, credentials, what) {
  const response = await fetch(url, { credentials, cache: "no-store" });
  if (!response.ok) throw new Error(`could not fetch ${what} (HTTP ${response.status})`);
  return response.text();
}

function wire() {
  const holder = document.getElementById("statement-check");
  const button = document.getElementById("verify-statement");
  if (!holder || !button) return;
  const container = document.getElementById("statement-results");
  button.addEventListener("click", async () => {
    container.dataset.state = "running";
    container.replaceChildren(element("p", "", "Checking in your browser…"));
    try {
      const keys = await trustedKeys(await fetchText(holder.dataset.jwksUrl, "omit", "the public keys"));
      const data = parseJson(await fetchText(holder.dataset.statementUrl, "same-origin", "the statement"));
      render(container, await verifyStatement(data, keys));
    } catch (error) {
      container.replaceChildren(element("p", "verdict fail", `Could not verify: ${error.message}`));
      container.dataset.state = "error";
    }
  });
}

wire();
