// Wires the pages to verifier.js: "Verify in my browser" on a receipt's page and the
// paste/upload form. Results are built with textContent only, every text made visible
// (text.js) and producer text isolated in <bdi>, so receipt text stays inert and cannot
// reorder what is read. The top says how many receipts failed and links each one; a
// heading is ticked only when every check under it ran and passed.
import { trustedDelegations } from "./delegation.js";
import { checkInLog } from "./inlog.js";
import { parseJson } from "./json.js";
import { pyStr } from "./python.js";
import { visible } from "./text.js";
import * as verifier from "./verifier.js";

const { FORMAT, SIGNATURE, CANONICAL, HASH, CONTRACT, IDEMPOTENCY, SEQUENCE, CHAIN_LINK, BALANCE } = verifier;
const { KEY_ENDORSEMENT } = verifier;
const GROUPS = [
  ["signature", "Signature", [FORMAT, SIGNATURE, KEY_ENDORSEMENT]],
  ["hash", "Canonical hash", [CANONICAL, HASH, CONTRACT]],
  ["chain_link", "Chain link", [IDEMPOTENCY, SEQUENCE, CHAIN_LINK, BALANCE]],
];
const WORDS = new Map([
  [FORMAT, "format"], [SIGNATURE, "signature"], [KEY_ENDORSEMENT, "key endorsement"], [CANONICAL, "canonical form"], [HASH, "hash"],
  [CONTRACT, "contract"], [IDEMPOTENCY, "idempotency"], [SEQUENCE, "sequence"], [CHAIN_LINK, "chain link"],
  [BALANCE, "balance"],
]); // prettier-ignore
const MARKS = { pass: "✓", fail: "✗", unchecked: "–" };
const WHERE = "in your browser";
const utf8 = new TextDecoder("utf-8", { fatal: true });

const ran = (check) => !(check.ok && check.reason.startsWith(verifier.NOT_CHECKED));
const plural = (count, noun) => `${count} ${noun}${count === 1 ? "" : "s"}`;
const words = (names) => (names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`);
const inOrder = (names) => [...WORDS.keys()].filter((name) => names.has(name)).map((name) => WORDS.get(name));

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = visible(text);
  return node;
}

const isolated = (text) => element("bdi", "", text);

function named(result) {
  let where = result.receiptId ?? "(unnamed receipt)";
  if (result.customerId !== null) where += ` (customer ${result.customerId}, sequence ${pyStr(result.sequence)})`;
  return where;
}

function groupsOf(result) {
  return GROUPS.map(([key, title, names]) => {
    const items = result.checks.filter((check) => names.includes(check.check));
    let state = items.length && items.every(ran) ? "pass" : "unchecked";
    if (items.some((check) => !check.ok)) state = "fail";
    return { key, title, items, state };
  });
}

function verdict(results, unreadable, failed) {
  const receipts = plural(results.length, "receipt");
  const lines = plural(unreadable.length, "line");
  const passed = inOrder(new Set(results.flatMap((result) => result.checks.filter(ran).map((check) => check.check))));
  const skipped = results.map((result) => {
    const names = new Set(result.checks.filter((check) => !ran(check)).map((check) => check.check));
    if (names.has(SEQUENCE)) names.add(CHAIN_LINK); // its reason says so: no receipt before it, no link to check
    return names;
  });
  const notChecked = inOrder(new Set(skipped.flatMap((names) => [...names])));
  if (results.length && !failed.length && !unreadable.length) {
    if (!notChecked.length) return `Verified ${WHERE}: ${receipts}; every check passed (${words(passed)}).`;
    const some = plural(skipped.filter((names) => names.size).length, "receipt");
    return (
      `Verified ${WHERE}: ${receipts}; every check that ran passed (${words(passed)}). Not checked for ${some}, ` +
      `with no earlier receipt given to compare with: ${words(notChecked)} (marked –).`
    );
  }
  if (!results.length) return `Verification FAILED ${WHERE}: no receipt could be read (${lines} are not receipts).`;
  if (!failed.length) {
    return `Verification FAILED ${WHERE}: ${lines} could not be read as receipts; the ${receipts} read passed.`;
  }
  const unread = unreadable.length ? `, and ${lines} could not be read` : "";
  return `Verification FAILED ${WHERE}: ${failed.length} of ${receipts} failed${unread}.`;
}

function checkList(result) {
  const list = element("ul", "checks");
  for (const group of groupsOf(result)) {
    const row = element("li", `check ${group.state}`);
    row.dataset.check = group.key;
    row.append(element("span", "mark", MARKS[group.state]), element("strong", "", group.title));
    const reasons = element("ul");
    if (!group.items.length) reasons.append(element("li", "unchecked", "not checked: an earlier check failed"));
    for (const check of group.items) {
      const item = element("li", !check.ok ? "fail" : ran(check) ? "pass" : "unchecked");
      item.append(isolated(`${check.check}: ${check.reason || (check.ok ? "passed" : "failed")}`));
      reasons.append(item);
    }
    row.append(reasons);
    list.append(row);
  }
  return list;
}

function render(container, results, unreadable, focusId) {
  const failed = results.map((result, index) => [index + 1, result]).filter(([, result]) => !result.ok);
  const ok = results.length > 0 && !failed.length && !unreadable.length;
  const nodes = [element("p", `verdict ${ok ? "pass" : "fail"}`, verdict(results, unreadable, failed))];
  if (failed.length || unreadable.length) {
    const list = element("ol", "failures");
    for (const [position, result] of failed) {
      const link = element("a", "", `Receipt ${position}: `);
      link.href = `#browser-receipt-${position}`;
      link.append(isolated(named(result)));
      const why = words([...new Set(result.checks.filter((check) => !check.ok).map((check) => WORDS.get(check.check)))]);
      const item = element("li");
      item.append(link, document.createTextNode(` failed ${why}`));
      list.append(item);
    }
    for (const line of unreadable) {
      const link = element("a", "", `Line ${line.line}`);
      link.href = `#browser-line-${line.line}`;
      const item = element("li");
      item.append(link, document.createTextNode(" is not a receipt"));
      list.append(item);
    }
    nodes.push(list);
  }
  for (const line of unreadable) {
    const paragraph = element("p", "fail");
    paragraph.id = `browser-line-${line.line}`;
    paragraph.append(isolated(`line ${line.line}: ${line.reason}`));
    nodes.push(paragraph);
  }
  results.forEach((result, index) => {
    const section = element("section", "browser-result receipt-result");
    section.id = `browser-receipt-${index + 1}`;
    section.dataset.receiptId = result.receiptId ?? "";
    section.dataset.ok = String(result.ok);
    const title = element("h3", "", `Receipt ${index + 1}: `);
    title.append(isolated(named(result)));
    if (focusId && result.receiptId === focusId) title.append(document.createTextNode(" (this receipt)"));
    section.append(title, checkList(result));
    nodes.push(section);
  });
  container.replaceChildren(...nodes);
  container.dataset.state = ok ? "pass" : "fail";
}

async function fetchKeys(url) {
  const response = await fetch(url, { credentials: "omit", cache: "no-store" });
  if (!response.ok) throw new Error(`could not fetch the public keys (HTTP ${response.status})`);
  return verifier.trustedKeys(await response.text());
}

// The keys, and the delegations when the issuer endorsed any key (the server checks them then).
async function fetchTrust(dataset) {
  const keys = await fetchKeys(dataset.jwksUrl);
  if (!dataset.endorsementsUrl) return [keys, null];
  const response = await fetch(dataset.endorsementsUrl, { credentials: "omit", cache: "no-store" });
  if (!response.ok) throw new Error(`could not fetch the key endorsements (HTTP ${response.status})`);
  const delegations = await trustedDelegations(await response.text(), keys);
  return [keys, delegations.endorsements ? delegations : null];
}

// The receipt's inclusion in the log, as one more result under the receipts' (fails the whole).
async function logSection(container, holder, receipts) {
  const before = container.dataset.state;
  container.dataset.state = "running"; // until the log is checked too
  const section = element("section", "browser-result log-result");
  section.id = "browser-log";
  const focus = receipts.find((item) => item instanceof Map && item.get("receipt_id") === holder.dataset.focus);
  let state = "fail";
  let line;
  try {
    const response = await fetch(holder.dataset.logUrl, { credentials: "omit", cache: "no-store" });
    if (!response.ok) throw new Error(`could not fetch the log's keys (HTTP ${response.status})`);
    const hash = focus?.get("receipt_hash");
    const found = await checkInLog(holder.dataset.logProof, typeof hash === "string" ? hash : "", await response.text());
    const count = found.cosignedBy.length;
    const witnesses = `${count} witness${count === 1 ? "" : "es"}`;
    line =
      `inclusion: leaf ${found.index} of the tree of ${found.size} leaves the log ${found.origin} signed, ` +
      `cosigned by ${witnesses} the site names`;
    state = "pass";
  } catch (error) {
    line = `inclusion: ${error.message}`;
  }
  const item = element("li", `check ${state}`);
  item.dataset.check = "log";
  const reasons = element("ul");
  const reason = element("li", state);
  reason.append(isolated(line));
  reasons.append(reason);
  item.append(element("span", "mark", MARKS[state]), element("strong", "", "Transparency log"), reasons);
  const list = element("ul", "checks");
  list.append(item);
  section.dataset.ok = String(state === "pass");
  section.append(element("h3", "", "This receipt in the transparency log"), list);
  container.append(section);
  if (state === "fail") {
    container.querySelector(".verdict")?.replaceChildren(visible(`Verification FAILED in your browser: ${line}`));
    container.querySelector(".verdict")?.classList.replace("pass", "fail");
  }
  container.dataset.state = before === "pass" && state === "pass" ? "pass" : "fail";
}

async function run(container, work) {
  container.dataset.state = "running";
  container.replaceChildren(element("p", "", "Checking in your browser…"));
  try {
    await work();
  } catch (error) {
    container.replaceChildren(element("p", "verdict fail", `Could not verify: ${error.message}`));
    container.dataset.state = "error";
  }
}

function wireReceiptPage() {
  const holder = document.getElementById("browser-check");
  const button = document.getElementById("verify-in-browser");
  if (!holder || !button) return;
  const container = document.getElementById("browser-results");
  button.addEventListener("click", () =>
    run(container, async () => {
      const receipts = parseJson(holder.dataset.receipts);
      const results = await verifier.verifyChain(receipts, ...(await fetchTrust(holder.dataset)));
      render(container, results, [], holder.dataset.focus);
      if (holder.dataset.logProof) await logSection(container, holder, receipts);
    }),
  );
}

function wireVerifyForm() {
  const form = document.getElementById("verify-form");
  if (!form) return;
  const container = document.getElementById("verify-results");
  form.addEventListener("submit", (event) => {
    event.preventDefault(); // verified here; without JavaScript the form asks the server instead
    run(container, async () => {
      const file = form.elements.file.files[0];
      let text = form.elements.receipts.value;
      if (file) {
        try {
          text = utf8.decode(await file.arrayBuffer());
        } catch {
          throw new Error("the file is not UTF-8 text");
        }
      }
      const { receipts, unreadable } = verifier.readReceipts(text);
      if (receipts.length === 0 && unreadable.length === 0) throw new Error("paste a receipt or choose a file first");
      const results = await verifier.verifyChain(receipts, ...(await fetchTrust(form.dataset)));
      render(container, results, unreadable, null);
    });
  });
}

wireReceiptPage();
wireVerifyForm();
