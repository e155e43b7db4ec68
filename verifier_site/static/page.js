// Wires the pages to verifier.js: "Verify in my browser" on a receipt's page and the
// paste/upload form. Results are built with textContent only, so receipt text stays inert.
import { GROUPS, readReceipts, verifySegment } from "./verifier.js";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function fetchJwks(url) {
  const response = await fetch(url, { credentials: "omit", cache: "no-store" });
  if (!response.ok) throw new Error(`could not fetch the public keys (HTTP ${response.status})`);
  return response.json();
}

function render(container, results, unreadable, focusId) {
  const ok = results.length > 0 && unreadable.length === 0 && results.every((result) => result.ok);
  const verdict = ok
    ? `Verified in your browser: ${results.length} receipt(s); signature, canonical hash and chain link all pass.`
    : "Verification FAILED in your browser: see the reasons below.";
  const nodes = [element("p", `verdict ${ok ? "pass" : "fail"}`, verdict)];
  for (const item of unreadable) nodes.push(element("p", "fail", `line ${item.line}: ${item.reason}`));
  for (const result of results) {
    const section = element("section", "browser-result");
    section.dataset.receiptId = result.receiptId ?? "";
    section.dataset.ok = String(result.ok);
    const name = `${result.receiptId ?? "(unnamed receipt)"}${result.sequence !== null ? ` (#${result.sequence})` : ""}`;
    section.append(element("h3", "", result.receiptId === focusId ? `${name}: this receipt` : name));
    const list = element("ul", "checks");
    for (const [key, title] of GROUPS) {
      const items = result.groups[key];
      const passed = items.length > 0 && items.every((item) => item.ok);
      const row = element("li", `check ${passed ? "pass" : "fail"}`);
      row.dataset.check = key;
      row.append(element("span", "mark", passed ? "✓" : "✗"), element("strong", "", title));
      const reasons = element("ul");
      if (items.length === 0) reasons.append(element("li", "fail", "not checked: an earlier step failed"));
      for (const item of items) {
        reasons.append(element("li", item.ok ? "pass" : "fail", `${item.check}: ${item.reason || (item.ok ? "passed" : "failed")}`));
      }
      row.append(reasons);
      list.append(row);
    }
    section.append(list);
    nodes.push(section);
  }
  container.replaceChildren(...nodes);
  container.dataset.state = ok ? "pass" : "fail";
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
      const receipts = JSON.parse(holder.dataset.receipts);
      const results = await verifySegment(receipts, await fetchJwks(holder.dataset.jwksUrl));
      render(container, results, [], holder.dataset.focus);
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
      const text = file ? await file.text() : form.elements.receipts.value;
      const { receipts, unreadable } = readReceipts(text);
      if (receipts.length === 0 && unreadable.length === 0) throw new Error("paste a receipt or choose a file first");
      const results = await verifySegment(receipts, await fetchJwks(form.dataset.jwksUrl));
      render(container, results, unreadable, null);
    });
  });
}

wireReceiptPage();
wireVerifyForm();
