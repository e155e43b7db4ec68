// The transparency log's checks in the browser, as receipts/tlog does them in Python: RFC
// 9162 inclusion and consistency proofs with SubtleCrypto SHA-256, C2SP signed notes and
// checkpoints, the log's Ed25519 signature and the witnesses' cosignature/v1 with WebCrypto.
// They refuse what Python refuses: both run the RFC 6962 vectors (tests/vectors/rfc6962)
// and the signed-note vectors (tests/vectors/tlog_notes.json). Nothing here asks the server.
import { pyStrip } from "./python.js";
import { WHITESPACE } from "./tables.js";

const HASH_SIZE = 32;
const MAX_PROOF_HASHES = 64;
const MAX_NOTE_BYTES = 256 * 1024;
const MAX_SIGNATURES = 100;
const MAX_KEY_STRING = 1024;
const MAX_TREE_SIZE = (1n << 64n) - 1n;
const MAX_TIMESTAMP = (1n << 63n) - 1n;
const ED25519 = 0x01;
const COSIGNATURE_V1 = 0x04;
const DASH = "\u2014 ";
const SPACES = new Set(WHITESPACE); // Python's str.isspace, as the server's Python has it (tables.js)
const SIZE = /^(0|[1-9][0-9]{0,19})$/;
const EMPTY_ROOT = hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // a BOM is a character, not skipped

export class TlogError extends Error {}

export function hex(text) {
  if (!/^([0-9a-f]{2})*$/.test(text)) throw new TlogError("not lowercase hex");
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) out.set(part, (at += part.length) - part.length);
  return out;
};
const equal = (a, b) => a.length === b.length && a.every((value, i) => value === b[i]);
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
export const leafHash = (entry) => sha256(concat(Uint8Array.of(0), entry));
const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

// The RFC 6962 Merkle tree hash of entries (Uint8Arrays) in order, as receipts/statements/lines.py
// lines_root folds it: one perfect subtree per set bit of the count, joined right to left.
export async function treeHash(entries) {
  const stack = [];
  for (const entry of entries) {
    let size = 1;
    let node = await leafHash(entry);
    while (stack.length && stack.at(-1)[0] === size) {
      node = await nodeHash(stack.pop()[1], node);
      size *= 2;
    }
    stack.push([size, node]);
  }
  if (!stack.length) return EMPTY_ROOT;
  let root = stack.pop()[1];
  while (stack.length) root = await nodeHash(stack.pop()[1], root);
  return root;
}

export function decodeBase64(text) {
  if (typeof text !== "string" || text.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new TlogError("not base64");
  }
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (btoa(String.fromCharCode(...bytes)) !== text) throw new TlogError("not canonical base64");
  return bytes;
}

function checkHashes(path) {
  if (path.length > MAX_PROOF_HASHES) throw new TlogError(`${path.length} hashes: no tree needs more than 64`);
  path.forEach((value, i) => {
    if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) throw new TlogError(`proof hash ${i} is not one`);
  });
}

// climbing past levels where our node is a right child's lone left (RFC 9162: "right-shift both")
function shiftWhileEven(state) {
  while (state.fn && !(state.fn & 1n)) [state.fn, state.sn] = [state.fn >> 1n, state.sn >> 1n];
}

// The root `path` proves leaf hash `leaf` at `index` to be under, in a tree of `size` leaves.
export async function inclusionRoot(leaf, index, size, path) {
  [index, size] = [BigInt(index), BigInt(size)];
  if (index < 0n || index >= size) throw new TlogError(`index ${index} is not in a tree of ${size} leaves`);
  if (!(leaf instanceof Uint8Array) || leaf.length !== HASH_SIZE) throw new TlogError("the leaf hash is not 32 bytes");
  checkHashes(path);
  const state = { fn: index, sn: size - 1n };
  let r = leaf;
  for (const p of path) {
    if (state.sn === 0n) throw new TlogError(`the proof is longer than a tree of ${size} leaves needs`);
    if (state.fn & 1n || state.fn === state.sn) {
      r = await nodeHash(p, r);
      if (!(state.fn & 1n)) shiftWhileEven(state);
    } else {
      r = await nodeHash(r, p);
    }
    [state.fn, state.sn] = [state.fn >> 1n, state.sn >> 1n];
  }
  if (state.sn !== 0n) throw new TlogError(`the proof is shorter than a tree of ${size} leaves needs`);
  return r;
}

export async function verifyInclusion(leaf, index, size, path, root) {
  if (!equal(await inclusionRoot(leaf, index, size, path), root)) {
    throw new TlogError(`the proof does not lead to the root of the tree of ${size} leaves`);
  }
}

// That the tree of size2 leaves with root2 extends the tree of size1 with root1 (RFC 9162 2.1.4.2).
export async function verifyConsistency(size1, size2, path, root1, root2) {
  [size1, size2] = [BigInt(size1), BigInt(size2)];
  if (size1 < 0n || size2 < size1) throw new TlogError(`a tree of ${size2} leaves cannot extend one of ${size1}`);
  checkHashes(path);
  if (size1 === 0n) {
    if (path.length) throw new TlogError("the empty tree needs no consistency proof, and one was given");
    if (!equal(root1, EMPTY_ROOT)) throw new TlogError("the root of the empty tree is SHA-256 of nothing");
    if (size2 === 0n && !equal(root2, EMPTY_ROOT)) throw new TlogError("two different roots for the empty tree");
    if (root2.length !== HASH_SIZE) throw new TlogError("root2 is not a 32-byte hash");
    return;
  }
  if (size1 === size2) {
    if (path.length) throw new TlogError("trees of one size need no consistency proof, and one was given");
    if (!equal(root1, root2)) throw new TlogError(`two different roots for the tree of ${size1} leaves`);
    return;
  }
  if (!path.length) throw new TlogError(`no proof given from ${size1} to ${size2} leaves`);
  const proof = size1 & (size1 - 1n) ? path : [root1, ...path]; // a power of two: the old root is a node
  const state = { fn: size1 - 1n, sn: size2 - 1n };
  while (state.fn & 1n) [state.fn, state.sn] = [state.fn >> 1n, state.sn >> 1n];
  let [fr, sr] = [proof[0], proof[0]];
  for (const c of proof.slice(1)) {
    if (state.sn === 0n) throw new TlogError(`the proof is longer than ${size1} to ${size2} leaves needs`);
    if (state.fn & 1n || state.fn === state.sn) {
      [fr, sr] = [await nodeHash(c, fr), await nodeHash(c, sr)];
      if (!(state.fn & 1n)) shiftWhileEven(state);
    } else {
      sr = await nodeHash(sr, c);
    }
    [state.fn, state.sn] = [state.fn >> 1n, state.sn >> 1n];
  }
  if (state.sn !== 0n) throw new TlogError(`the proof is shorter than ${size1} to ${size2} leaves needs`);
  if (!equal(fr, root1)) throw new TlogError(`the proof does not lead to root1, of the tree of ${size1} leaves`);
  if (!equal(sr, root2)) throw new TlogError(`the proof does not lead to root2, of the tree of ${size2} leaves`);
}

const isKeyName = (name) =>
  typeof name === "string" && name !== "" && !name.includes("+") && ![...name].some(
    (c) => SPACES.has(c) || c.codePointAt(0) < 0x20 || c === "\x7f",
  ); // prettier-ignore

async function keyId(name, type, publicKey) {
  return (await sha256(concat(encoder.encode(`${name}\n`), Uint8Array.of(type), publicKey))).slice(0, 4);
}

// A verifier key, <name>+<hex key id>+<base64(type || 32-byte key)>, its key id checked.
export async function parseVkey(vkey) {
  const text = typeof vkey === "string" ? pyStrip(vkey) : null;
  if (text === null || text.length > MAX_KEY_STRING) throw new TlogError("not a key string");
  const first = text.indexOf("+");
  const second = text.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new TlogError("not a key string");
  const [name, id, encoded] = [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
  if (!isKeyName(name) || !/^[0-9a-f]{8}$/.test(id)) throw new TlogError("a key string is <name>+<8 hex>+<base64>");
  const raw = decodeBase64(encoded);
  if (raw.length !== 33 || ![ED25519, COSIGNATURE_V1].includes(raw[0])) throw new TlogError("not an Ed25519 key");
  const key = { name, type: raw[0], publicKey: raw.slice(1), keyId: await keyId(name, raw[0], raw.slice(1)) };
  if (!equal(key.keyId, hex(id))) throw new TlogError(`the key ID ${id} is not the ID of ${name}'s key`);
  return key;
}

async function ed25519(publicKey, message, signature) {
  if (signature.length !== 64) return false;
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

// The log's key (type 0x01), checking note signatures.
export async function noteVerifier(vkey) {
  const key = await parseVkey(vkey);
  if (key.type !== ED25519) throw new TlogError("a note verifier key has type 0x01");
  return { ...key, verify: (text, signature) => ed25519(key.publicKey, text, signature) };
}

// A witness's key (type 0x04; a type 0x01 vkey of the same key is taken as its cosignature key).
export async function cosignatureVerifier(vkey) {
  const key = await parseVkey(vkey);
  const keyIdOf = key.type === ED25519 ? await keyId(key.name, COSIGNATURE_V1, key.publicKey) : key.keyId;
  const verify = async (text, signature) => {
    if (signature.length !== 72) return false;
    const time = new DataView(signature.buffer, signature.byteOffset).getBigUint64(0);
    if (time > MAX_TIMESTAMP) return false;
    const message = concat(encoder.encode(`cosignature/v1\ntime ${time}\n`), text);
    return ed25519(key.publicKey, message, signature.slice(8));
  };
  return { name: key.name, keyId: keyIdOf, publicKey: key.publicKey, verify, witness: true };
}

function signatureLines(block) {
  if (!block.endsWith("\n")) throw new TlogError("signature lines end in a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new TlogError("more than 100 signatures");
  return lines.map((line, i) => {
    const rest = line.startsWith(DASH) ? line.slice(DASH.length) : null;
    const space = rest === null ? -1 : rest.indexOf(" ");
    const [name, encoded] = space < 0 ? [rest, ""] : [rest.slice(0, space), rest.slice(space + 1)];
    if (rest === null || !isKeyName(name)) throw new TlogError(`signature line ${i + 1} is not '— <name> <base64>'`);
    let raw;
    try {
      raw = decodeBase64(encoded);
    } catch {
      throw new TlogError(`signature line ${i + 1} is not canonical base64`);
    }
    if (raw.length <= 4) throw new TlogError(`signature line ${i + 1} holds no signature`);
    return { name, keyId: raw.slice(0, 4), signature: raw.slice(4) };
  });
}

// The note in `message` (bytes), every signature by a known key verified (as open_note).
export async function openNote(message, verifiers) {
  if (!(message instanceof Uint8Array) || message.length > MAX_NOTE_BYTES) throw new TlogError("a note is 256 KiB");
  let decoded;
  try {
    decoded = utf8.decode(message);
  } catch {
    throw new TlogError("a note is UTF-8");
  }
  if ([...decoded].some((c) => c.codePointAt(0) < 0x20 && c !== "\n")) throw new TlogError("a control character");
  const split = decoded.lastIndexOf("\n\n");
  if (split < 0) throw new TlogError("no blank line before the signatures");
  const [text, block] = [decoded.slice(0, split + 1), decoded.slice(split + 2)];
  if (!block) throw new TlogError("no signature");
  const known = new Map(verifiers.map((verifier) => [`${verifier.name} ${verifier.keyId}`, verifier]));
  const verified = new Map();
  for (const signature of signatureLines(block)) {
    const verifier = known.get(`${signature.name} ${signature.keyId}`);
    if (!verifier) continue;
    if (!(await verifier.verify(encoder.encode(text), signature.signature))) {
      throw new TlogError(`the signature of ${signature.name} does not verify`);
    }
    if (!verified.has(verifier)) verified.set(verifier, signature);
  }
  if (!verified.size) throw new TlogError("no known key signed the note");
  return { text, verified };
}

// A checkpoint's text: origin, size (no leading zeros), root (canonical base64), extensions.
export function parseCheckpoint(text) {
  if (!text.endsWith("\n")) throw new TlogError("a checkpoint's lines end in newlines");
  const [origin, size, root, ...extensions] = text.slice(0, -1).split("\n");
  if (root === undefined) throw new TlogError("a checkpoint has an origin, a size and a root hash line");
  if (!SIZE.test(size) || BigInt(size) > MAX_TREE_SIZE) throw new TlogError("the tree size is a decimal number");
  const rootHash = decodeBase64(root);
  if (origin === "" || rootHash.length !== HASH_SIZE || extensions.includes("")) {
    throw new TlogError("not a checkpoint: an origin, a 32-byte root and non-empty extension lines");
  }
  return { origin, size: BigInt(size), root: rootHash, extensions };
}

// The checkpoint in `message` signed by one of `logs`, cosigned by `quorum` of `witnesses`.
export async function openWitnessedCheckpoint(message, logs, witnesses, quorum, origin) {
  if (quorum < 0 || quorum > new Set(witnesses.map((w) => `${w.name} ${w.keyId}`)).size) {
    throw new TlogError(`a quorum of ${quorum} out of ${witnesses.length} witnesses cannot be met`);
  }
  const note = await openNote(message, [...logs, ...witnesses]);
  const checkpoint = parseCheckpoint(note.text);
  if (origin !== null && checkpoint.origin !== origin) throw new TlogError(`a checkpoint of ${checkpoint.origin}`);
  const signers = [...note.verified.keys()];
  if (!signers.some((verifier) => logs.includes(verifier))) throw new TlogError("the log's key did not sign it");
  const cosigners = signers.filter((verifier) => witnesses.includes(verifier));
  if (cosigners.length < quorum) throw new TlogError(`${cosigners.length} witnesses cosigned; ${quorum} needed`);
  return { checkpoint, cosignedBy: cosigners.map((verifier) => verifier.name).sort() };
}
