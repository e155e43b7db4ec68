-- Cloud Spanner (GoogleSQL) schema of the receipts state store.
-- One file for `receipts init` and for Terraform (google_spanner_database.ddl reads it):
-- statements are separated by ";" at the end of a line; "--" comments are dropped.
--
-- A receipt's rows (its idempotency row, the chain head, the balance, the entitlement
-- usage) are written in one commit, and only when the receipt extends the chain head.
-- Money is NUMERIC (exact decimal) or INT64 minor units, never FLOAT64.

-- One row per (customer, idempotency key) ever charged. It also holds the signed receipt
-- until the ledger (Firestore) is known to have it; rows expire after 30 days, after
-- which the ledger document receipts/{receipt_id} answers for the key.
CREATE TABLE IdempotencyKeys (
  CustomerId STRING(64) NOT NULL,
  IdempotentKey STRING(255) NOT NULL,
  ReceiptId STRING(32) NOT NULL,
  EventSha256 STRING(64) NOT NULL,
  Sequence INT64 NOT NULL,
  ReceiptHash STRING(64) NOT NULL,
  Body STRING(MAX) NOT NULL,
  Signature STRING(MAX) NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (CustomerId, IdempotentKey),
  ROW DELETION POLICY (OLDER_THAN(CreatedAt, INTERVAL 30 DAY));

CREATE UNIQUE INDEX IdempotencyKeysBySequence ON IdempotencyKeys (CustomerId, Sequence);

-- Where each customer's chain stands.
CREATE TABLE ChainHeads (
  CustomerId STRING(64) NOT NULL,
  Sequence INT64 NOT NULL,
  ReceiptHash STRING(64) NOT NULL,
  ReceiptId STRING(32) NOT NULL,
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (CustomerId);

-- Running total of accepted charges per (customer, currency).
CREATE TABLE Balances (
  CustomerId STRING(64) NOT NULL,
  Currency STRING(3) NOT NULL,
  Balance NUMERIC NOT NULL,
  AsOfSequence INT64 NOT NULL,
) PRIMARY KEY (CustomerId, Currency);

-- Spending caps, set by `receipts entitlements set`.
CREATE TABLE Entitlements (
  CustomerId STRING(64) NOT NULL,
  EntitlementId STRING(64) NOT NULL,
  LimitAmount NUMERIC NOT NULL,
  Currency STRING(3) NOT NULL,
) PRIMARY KEY (CustomerId, EntitlementId);

-- What each entitlement has used, in minor units of its currency, as of a chain sequence.
CREATE TABLE EntitlementUsage (
  CustomerId STRING(64) NOT NULL,
  EntitlementId STRING(64) NOT NULL,
  UsedMinor INT64 NOT NULL,
  AsOfSequence INT64 NOT NULL,
) PRIMARY KEY (CustomerId, EntitlementId);

-- API keys of the verifier site, one customer each. Only the SHA-256 of a key is stored.
CREATE TABLE ApiKeys (
  KeyId STRING(64) NOT NULL,
  CustomerId STRING(64) NOT NULL,
  KeyHash STRING(64) NOT NULL,
  CreatedAt STRING(40) NOT NULL,
  RevokedAt STRING(40),
) PRIMARY KEY (KeyId);

-- Signed-in sessions of the verifier site: signing out deletes the row, so a copied cookie
-- opens nothing afterwards. Only the SHA-256 of the cookie's token is stored. A session
-- ends at ExpiresAt whatever its use; the rows go a day later.
CREATE TABLE Sessions (
  SessionHash STRING(64) NOT NULL,
  KeyId STRING(64) NOT NULL,
  CreatedAt TIMESTAMP NOT NULL,
  ExpiresAt TIMESTAMP NOT NULL,
) PRIMARY KEY (SessionHash),
  ROW DELETION POLICY (OLDER_THAN(ExpiresAt, INTERVAL 1 DAY));

-- The archive's outbox. A customer's receipts up to PlannedSequence are in a planned
-- archive batch; a batch is pending (its row here) until its file is in the bucket.
-- Planning a batch and advancing the marks is one commit, so every stored receipt is in
-- exactly one batch whatever the kill point, and a pending batch is written again, to
-- the same object with the same bytes, by the next `receipts archive catch-up`.
CREATE TABLE ArchiveMarks (
  CustomerId STRING(64) NOT NULL,
  PlannedSequence INT64 NOT NULL,
) PRIMARY KEY (CustomerId);

CREATE TABLE ArchiveBatches (
  BatchId STRING(64) NOT NULL,
  PlannedAt TIMESTAMP NOT NULL,
) PRIMARY KEY (BatchId);

CREATE TABLE ArchiveSpans (
  BatchId STRING(64) NOT NULL,
  CustomerId STRING(64) NOT NULL,
  FirstSequence INT64 NOT NULL,
  LastSequence INT64 NOT NULL,
) PRIMARY KEY (BatchId, CustomerId),
  INTERLEAVE IN PARENT ArchiveBatches ON DELETE CASCADE;

-- Intake: while Frozen, nothing new is charged (`receipts intake freeze|resume`, or a
-- failed reconciliation). One row, Id 1.
CREATE TABLE Intake (
  Id INT64 NOT NULL,
  Frozen BOOL NOT NULL,
  Reason STRING(MAX) NOT NULL,
  ChangedAt TIMESTAMP,
  ChangedBy STRING(200) NOT NULL,
) PRIMARY KEY (Id);

-- The transparency log (receipts.stores.log_sequencer, docs/LOG.md). An append commits the
-- new stored hashes, the leaves, the customers' marks and LogState in one transaction; the
-- tiles and entry bundles in the bucket are written afterwards from what was committed, so a
-- kill never leaves two different files for one path. One row, Id 1: the log's origin, the
-- committed tree, and the size through which its tiles are published.
CREATE TABLE LogState (
  Id INT64 NOT NULL,
  Origin STRING(MAX) NOT NULL,
  Size INT64 NOT NULL,
  RootHash BYTES(32) NOT NULL,
  TilesSize INT64 NOT NULL,
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (Id);

-- Per customer: the receipts up to LoggedSequence are leaves of the log.
CREATE TABLE LogMarks (
  CustomerId STRING(64) NOT NULL,
  LoggedSequence INT64 NOT NULL,
) PRIMARY KEY (CustomerId);

-- Each receipt's leaf index, inserted once: a second append of one receipt fails its commit.
CREATE TABLE LogLeaves (
  ReceiptId STRING(32) NOT NULL,
  LeafIndex INT64 NOT NULL,
) PRIMARY KEY (ReceiptId);

-- The stored hashes (Go's sumdb/tlog numbering), 256 per row: Chunk N holds indexes
-- 256N .. 256N+255, 32 bytes each, concatenated; the last row grows until it is full.
CREATE TABLE LogHashes (
  Chunk INT64 NOT NULL,
  Hashes BYTES(MAX) NOT NULL,
) PRIMARY KEY (Chunk);

-- The entries, one row per entry bundle of 256 leaves: their 32-byte entries (receipt
-- hashes) concatenated, and the receipt ids in the same leaf order (for audits).
CREATE TABLE LogBundles (
  Bundle INT64 NOT NULL,
  Entries BYTES(MAX) NOT NULL,
  ReceiptIds ARRAY<STRING(32)> NOT NULL,
) PRIMARY KEY (Bundle);

-- Every checkpoint signed, by tree size, kept once (the same size always has the same root).
CREATE TABLE LogCheckpoints (
  Size INT64 NOT NULL,
  Note BYTES(MAX) NOT NULL,
  SignedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (Size);

-- Who submitted each event through the site's POST /v1/events (receipts.submissions): the
-- API key id, the event's hash and when, one row per receipt id, the first accepted
-- submission (a re-post adds nothing). Kept as long as the receipts: no deletion policy.
CREATE TABLE Submissions (
  ReceiptId STRING(32) NOT NULL,
  CustomerId STRING(64) NOT NULL,
  KeyId STRING(64) NOT NULL,
  EventSha256 STRING(64) NOT NULL,
  SubmittedAt TIMESTAMP NOT NULL,
) PRIMARY KEY (ReceiptId);

-- The client address of each submission: personal data, in a table of its own so that it
-- can go while the key id stays. AddressUntil is the submission's time plus the site's
-- retention (90 days by default); Spanner's TTL deletes the row once it has passed (in the
-- background, within about three days), and the site shows no address past AddressUntil.
-- SubmittedAt is the submission's, repeated so that a scrub after a shortened retention
-- (`receipts intake scrub --retention-days N`) is one partitioned DML on this table alone.
CREATE TABLE SubmissionAddresses (
  ReceiptId STRING(32) NOT NULL,
  ClientAddress STRING(64) NOT NULL,
  SubmittedAt TIMESTAMP NOT NULL,
  AddressUntil TIMESTAMP NOT NULL,
) PRIMARY KEY (ReceiptId),
  INTERLEAVE IN PARENT Submissions ON DELETE CASCADE,
  ROW DELETION POLICY (OLDER_THAN(AddressUntil, INTERVAL 0 DAY));

-- Receipt contract v2 (credit notes): per charge ever credited, what its accepted credits add
-- up to, in minor units of its currency, as of a chain sequence. Written in the commit of
-- each accepted credit, beside its receipt, balance and usage rows, so credits of one charge
-- never add up past it. The charge itself is its receipt.
CREATE TABLE ChargeCredits (
  CustomerId STRING(64) NOT NULL,
  ReceiptId STRING(32) NOT NULL,
  CreditedMinor INT64 NOT NULL,
  AsOfSequence INT64 NOT NULL,
) PRIMARY KEY (CustomerId, ReceiptId);

-- Billing periods (receipts.statements, docs/STATEMENTS.md; receipts/stores/gcp/statements.py).
-- Each period's close, once: ClosedAt (RFC 3339 UTC text, as signed) is fixed by its first
-- run, so a rerun issues the same statements byte for byte.
CREATE TABLE StatementCloses (
  Period STRING(7) NOT NULL,
  ClosedAt STRING(40) NOT NULL,
) PRIMARY KEY (Period);

-- Each customer's statement of a period, inserted once and never changed: Body is the RFC 8785
-- payload that was signed. Number is the customer's 1st, 2nd, … statement, its order as
-- leaves of the log. Firestore's statements/{statement_id} and the archive's
-- statements/PERIOD/STATEMENT_ID.json are written from this row, after its commit.
CREATE TABLE Statements (
  CustomerId STRING(64) NOT NULL,
  Period STRING(7) NOT NULL,
  StatementId STRING(32) NOT NULL,
  Number INT64 NOT NULL,
  ClosingSequence INT64 NOT NULL,
  StatementHash STRING(64) NOT NULL,
  Body STRING(MAX) NOT NULL,
  Signature STRING(MAX) NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (CustomerId, Period);

CREATE UNIQUE INDEX StatementsById ON Statements (StatementId);

CREATE UNIQUE INDEX StatementsByNumber ON Statements (CustomerId, Number);

-- The log's mark of each customer's statements: those up to LoggedNumber are leaves. Beside
-- LogMarks, whose CustomerId has no room for receipts.rows.statements_mark's prefix.
CREATE TABLE StatementLogMarks (
  CustomerId STRING(64) NOT NULL,
  LoggedNumber INT64 NOT NULL,
) PRIMARY KEY (CustomerId);

-- API keys have roles (receipts.api_keys.ROLES): "customer" keys read and charge one
-- customer, "operator" keys (CustomerId "") post charges and credits for any customer and
-- read any customer's receipts. Keys made before roles existed are customer keys.
ALTER TABLE ApiKeys ADD COLUMN Role STRING(16) NOT NULL DEFAULT ("customer");

-- Delegated signing keys (receipts.delegation, receipts/stores/gcp/delegated_keys.py; docs/DEPLOY.md,
-- "Choosing the signer"): one RSA-2048 key per epoch-aligned validity window, inserted once
-- by the first worker to need it (a racing worker's transaction aborts and reads this row).
-- WrappedPrivate is the PKCS#8 private key encrypted by Cloud KMS (the ?wrap= key, with the
-- window and kid as additional authenticated data): never the key in clear. Endorsement is
-- the HSM key's key-endorsement+jws over PublicJwk and the window.
CREATE TABLE DelegatedKeys (
  NotBefore STRING(20) NOT NULL,
  Kid STRING(43) NOT NULL,
  PublicJwk STRING(MAX) NOT NULL,
  WrappedPrivate BYTES(MAX) NOT NULL,
  Endorsement STRING(MAX) NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (NotBefore);

CREATE UNIQUE INDEX DelegatedKeysByKid ON DelegatedKeys (Kid);

-- The key documents: each endorsement (written with its key) and revocation (`receipts keys
-- revoke`), numbered 1, 2, … in the order written, never changed. They are leaves of the
-- log in that order, under LogMarks' "keys:" row. DocumentId is the leaf's id (STRING(32),
-- as LogLeaves'): "endorsement:" or "revocation:" and the start of the kid.
CREATE TABLE KeyDocuments (
  Number INT64 NOT NULL,
  DocumentId STRING(32) NOT NULL,
  Kind STRING(16) NOT NULL,
  Kid STRING(43) NOT NULL,
  Jws STRING(MAX) NOT NULL,
  DocumentHash STRING(64) NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (Number);

CREATE UNIQUE INDEX KeyDocumentsById ON KeyDocuments (DocumentId);
