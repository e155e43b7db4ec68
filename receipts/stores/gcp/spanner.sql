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
