// Untrusted text made visible, exactly as receipts/text.py's `visible` does it: every
// control, format (bidi overrides and isolates, zero-width characters, tags...), separator
// and lone surrogate becomes an escape a reader sees ("\u202e"), so a producer's text
// cannot reorder or hide what a customer reads. Everything else reads unchanged.
const INVISIBLE = new RegExp(
  "[\\0-\\x1f\\x7f-\\x9f\\xad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891\\u08e2\\u180e" +
    "\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb\\ud800-\\udfff" +
    "\\u{110bd}\\u{110cd}\\u{13430}-\\u{1343f}\\u{1bca0}-\\u{1bca3}\\u{1d173}-\\u{1d17a}" +
    "\\u{e0001}\\u{e0020}-\\u{e007f}]",
  "gu",
);

export function visible(text) {
  return String(text).replace(INVISIBLE, (ch) => {
    const point = ch.codePointAt(0);
    return point <= 0xffff ? `\\u${point.toString(16).padStart(4, "0")}` : `\\u{${point.toString(16)}}`;
  });
}
