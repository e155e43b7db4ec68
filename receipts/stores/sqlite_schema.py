"""The tables of the embedded store (receipts.stores.sqlite), created when missing, and the
columns added since a table was first created (`COLUMNS_ADDED`, added to older homes)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    receipt_id    TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL,
    sequence      INTEGER NOT NULL,
    receipt_hash  TEXT NOT NULL,
    body          TEXT NOT NULL,  -- the RFC 8785 canonical payload that was signed
    signature     TEXT NOT NULL,
    UNIQUE (customer_id, sequence)
);
CREATE INDEX IF NOT EXISTS receipts_by_corrects  -- a charge's credits (contract v2), for credits_of (sqlite_account.py)
    ON receipts (customer_id, json_extract(body, '$.corrects'), sequence)
    WHERE json_extract(body, '$.corrects') IS NOT NULL;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    customer_id    TEXT NOT NULL,
    idempotent_key TEXT NOT NULL,
    receipt_id     TEXT NOT NULL,
    event_sha256   TEXT NOT NULL,
    PRIMARY KEY (customer_id, idempotent_key)
);
CREATE TABLE IF NOT EXISTS chain_heads (
    customer_id  TEXT PRIMARY KEY,
    sequence     INTEGER NOT NULL,
    receipt_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    customer_id    TEXT NOT NULL,
    currency       TEXT NOT NULL,
    balance        TEXT NOT NULL,
    as_of_sequence INTEGER NOT NULL,
    PRIMARY KEY (customer_id, currency)
);
CREATE TABLE IF NOT EXISTS entitlements (
    customer_id    TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    limit_amount   TEXT NOT NULL,
    currency       TEXT NOT NULL,
    PRIMARY KEY (customer_id, entitlement_id)
);
CREATE TABLE IF NOT EXISTS entitlement_usage (
    customer_id    TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    used_minor     TEXT NOT NULL,
    as_of_sequence INTEGER NOT NULL,
    PRIMARY KEY (customer_id, entitlement_id)
);
CREATE TABLE IF NOT EXISTS charge_credits (  -- receipt contract v2: what a charge's accepted credits add up to
    customer_id    TEXT NOT NULL,
    receipt_id     TEXT NOT NULL,  -- the charge
    credited_minor TEXT NOT NULL,  -- minor units of its currency
    as_of_sequence INTEGER NOT NULL,
    PRIMARY KEY (customer_id, receipt_id)
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    key_hash    TEXT NOT NULL,  -- hex SHA-256 of the key; the key itself is never stored
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    role        TEXT NOT NULL DEFAULT 'customer'  -- receipts.api_keys.ROLES; an operator key's customer_id is ''
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY,  -- hex SHA-256 of the cookie's token; the token is never stored
    key_id       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archive_marks (
    customer_id      TEXT PRIMARY KEY,
    planned_sequence INTEGER NOT NULL  -- receipts up to here are in a planned archive batch
);
CREATE TABLE IF NOT EXISTS archive_batches (
    batch_id   TEXT PRIMARY KEY,   -- pending until written to the archive, then deleted
    planned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archive_spans (
    batch_id    TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    first_sequence INTEGER NOT NULL,
    last_sequence  INTEGER NOT NULL,
    PRIMARY KEY (batch_id, customer_id)
);
CREATE TABLE IF NOT EXISTS intake (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    frozen     INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    changed_at TEXT,
    changed_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS log_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    origin     TEXT NOT NULL,     -- the log's name, fixed by its first integration
    size       INTEGER NOT NULL,  -- leaves committed
    root       BLOB NOT NULL,     -- RFC 6962 root of those leaves
    tiles_size INTEGER NOT NULL   -- every tile and entry bundle is published through this size
);
CREATE TABLE IF NOT EXISTS log_marks (
    customer_id     TEXT PRIMARY KEY,
    logged_sequence INTEGER NOT NULL  -- the customer's receipts up to here are leaves
);
CREATE TABLE IF NOT EXISTS log_leaves (
    leaf_index INTEGER PRIMARY KEY,
    receipt_id TEXT NOT NULL UNIQUE,  -- a receipt is one leaf, never two
    entry      BLOB NOT NULL          -- the 32 raw bytes of its receipt_hash
);
CREATE TABLE IF NOT EXISTS log_hashes (
    stored_index INTEGER PRIMARY KEY,  -- receipts.tlog.stored numbering, written once each
    hash         BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS log_checkpoints (
    size INTEGER PRIMARY KEY,  -- one signed checkpoint per tree size, kept
    note BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS statement_closes (
    period    TEXT PRIMARY KEY,  -- YYYY-MM, closed once
    closed_at TEXT NOT NULL      -- fixed by the first close: a rerun issues the same statements
);
CREATE TABLE IF NOT EXISTS statements (
    statement_id     TEXT PRIMARY KEY,
    customer_id      TEXT NOT NULL,
    period           TEXT NOT NULL,
    number           INTEGER NOT NULL,  -- the customer's 1st, 2nd, ... statement (its log order)
    closing_sequence INTEGER NOT NULL,
    statement_hash   TEXT NOT NULL,
    body             TEXT NOT NULL,  -- the RFC 8785 canonical payload that was signed
    signature        TEXT NOT NULL,
    UNIQUE (customer_id, period),
    UNIQUE (customer_id, number)
);
CREATE TABLE IF NOT EXISTS submissions (
    receipt_id     TEXT PRIMARY KEY,  -- the first accepted POST /v1/events of the event (receipts.submissions)
    customer_id    TEXT NOT NULL,
    key_id         TEXT NOT NULL,     -- kept as long as the receipt
    event_sha256   TEXT NOT NULL,
    submitted_at   TEXT NOT NULL,
    client_address TEXT,              -- personal data: NULL once address_until has passed
    address_until  TEXT
);
CREATE INDEX IF NOT EXISTS submissions_by_address_until ON submissions (address_until)
    WHERE client_address IS NOT NULL;
CREATE TABLE IF NOT EXISTS delegated_keys (  -- one signing key per validity window (receipts.delegation)
    not_before      TEXT PRIMARY KEY,  -- the window's start: a second writer loses and reads the first's
    kid             TEXT NOT NULL UNIQUE,
    wrapped_private BLOB NOT NULL,     -- never in clear: Cloud KMS Encrypt, or AES-GCM under the home KEK
    endorsement     TEXT NOT NULL      -- the HSM key's JWS over its public JWK and window
);
CREATE TABLE IF NOT EXISTS key_documents (  -- endorsements and revocations: log leaves, in this order
    number        INTEGER PRIMARY KEY,  -- 1, 2, ... under the "keys:" log mark
    document_id   TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    kid           TEXT NOT NULL,
    jws           TEXT NOT NULL,
    document_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    dead_letter_id TEXT PRIMARY KEY,
    recorded       INTEGER NOT NULL,  -- insertion order
    record         TEXT NOT NULL      -- the dead letter's export form
);
"""

# (table, column, its definition): columns added after their table was created. A home made
# before has the table without them; opening the store adds them, with their default.
COLUMNS_ADDED = (("api_keys", "role", "TEXT NOT NULL DEFAULT 'customer'"),)
