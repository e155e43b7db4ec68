// A receipt's place in the transparency log, checked in the browser: the checkpoint its page
// was given must be signed by the log's key (from /v1/log) and cosigned by the quorum of
// witnesses the site names, and the inclusion proof must lead from the receipt's leaf hash,
// SHA-256(0x00 || receipt_hash), to that checkpoint's root. tlog.js does the cryptography.
import { get } from "./contract.js";
import { parseJson } from "./json.js";
import * as tlog from "./tlog.js";

const encoder = new TextEncoder();
const text = (map, name) => {
  const value = map instanceof Map ? get(map, name) : null;
  if (typeof value !== "string") throw new tlog.TlogError(`${name} is missing`);
  return value;
};
const integer = (map, name) => {
  const value = map instanceof Map ? get(map, name) : null;
  if (typeof value !== "bigint" || value < 0n) throw new tlog.TlogError(`${name} is not a size`);
  return value;
};

// {index, size, origin, cosignedBy} when the proof holds; a TlogError (or a JsonError) says why not.
export async function checkInLog(proofJson, receiptHash, logJson) {
  const proof = parseJson(proofJson);
  const log = parseJson(logJson);
  const origin = text(log, "origin");
  const logs = [await tlog.noteVerifier(text(log, "vkey"))];
  const listed = get(log, "witnesses");
  const keys = (Array.isArray(listed) ? listed : []).map((witness) => text(witness, "vkey"));
  const witnesses = await Promise.all(keys.map(tlog.cosignatureVerifier));
  const quorum = Number(integer(log, "quorum"));
  const note = encoder.encode(text(proof, "checkpoint"));
  const { checkpoint, cosignedBy } = await tlog.openWitnessedCheckpoint(note, logs, witnesses, quorum, origin);
  const [index, size] = [integer(proof, "leaf_index"), integer(proof, "tree_size")];
  if (checkpoint.size !== size) {
    throw new tlog.TlogError(`the proof is for ${size} leaves, its checkpoint for ${checkpoint.size}`);
  }
  const path = get(proof, "inclusion_path");
  if (!Array.isArray(path) || !path.every((value) => typeof value === "string")) {
    throw new tlog.TlogError("the proof has no inclusion path");
  }
  const leaf = await tlog.leafHash(tlog.hex(receiptHash));
  await tlog.verifyInclusion(leaf, index, size, path.map(tlog.hex), checkpoint.root);
  return { index, size, origin, cosignedBy };
}
