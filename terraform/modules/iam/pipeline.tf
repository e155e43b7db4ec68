# receipts-pipeline, the streaming job: reads events, signs with the HSM key, appends
# receipts (Spanner role receipts_writer: INSERT only on IdempotencyKeys; Firestore
# create-only), writes archive objects once, publishes its dead letters.
resource "google_project_iam_member" "pipeline" {
  for_each = toset(local.dataflow_worker_roles)

  project = var.project_id
  role    = each.value
  member  = local.pipeline
}

resource "google_project_iam_member" "pipeline_creates_ledger" {
  project = var.project_id
  role    = google_project_iam_custom_role.ledger_writer.name
  member  = local.pipeline
}

resource "google_pubsub_subscription_iam_member" "pipeline_reads_events" {
  for_each = toset(["roles/pubsub.subscriber", "roles/pubsub.viewer"])

  project      = var.project_id
  subscription = var.subscription_name
  role         = each.value
  member       = local.pipeline
}

resource "google_pubsub_topic_iam_member" "pipeline_publishes" {
  for_each = toset([var.dead_letter_topic_name])

  project = var.project_id
  topic   = each.value
  role    = "roles/pubsub.publisher"
  member  = local.pipeline
}

# Fine-grained access control: the job connects with the database role receipts_writer
# (store URL `&role=receipts_writer`), and may assume no other.
resource "google_spanner_database_iam_member" "pipeline" {
  project  = var.project_id
  instance = var.spanner_instance
  database = var.spanner_database
  role     = "roles/spanner.fineGrainedAccessUser"
  member   = local.pipeline
}

resource "google_spanner_database_iam_member" "pipeline_database_role" {
  project  = var.project_id
  instance = var.spanner_instance
  database = var.spanner_database
  role     = "roles/spanner.databaseRoleUser"
  member   = local.pipeline

  condition {
    title      = "receipts_writer role only"
    expression = "resource.type == \"spanner.googleapis.com/DatabaseRole\" && resource.name.endsWith(\"/databaseRoles/receipts_writer\")"
  }
}

# Archive objects are created once, and their metadata (the sha256 set at create) read to
# tell a replay from a conflict; the pipeline can neither replace, delete nor relabel one.
resource "google_storage_bucket_iam_member" "pipeline_archive" {
  for_each = toset(["roles/storage.objectCreator", "roles/storage.objectViewer"])

  bucket = var.archive_bucket
  role   = each.value
  member = local.pipeline
}

# Its own staging bucket only (staging/, temp/); the template spec it runs is in the
# releases bucket, which it can read and not change.
resource "google_storage_bucket_iam_member" "pipeline_staging" {
  bucket = var.staging_bucket
  role   = "roles/storage.objectAdmin"
  member = local.pipeline
}

resource "google_storage_bucket_iam_member" "pipeline_reads_releases" {
  bucket = var.releases_bucket
  role   = "roles/storage.objectViewer"
  member = local.pipeline
}

resource "google_kms_crypto_key_iam_member" "pipeline_signs" {
  crypto_key_id = var.signing_key_id
  role          = "roles/cloudkms.signerVerifier"
  member        = local.pipeline
}

# The log's checkpoint key (EC_SIGN_ED25519): the streaming job's sequencer signs checkpoints.
resource "google_kms_crypto_key_iam_member" "pipeline_signs_checkpoints" {
  crypto_key_id = var.log_signing_key_id
  role          = "roles/cloudkms.signerVerifier"
  member        = local.pipeline
}

# The delegated signer (--signer delegated://kms/…): the streaming job wraps each window's
# new key (Encrypt) and unwraps the window's key another worker made (Decrypt). No other
# identity may: the site and the reconciliation read only the public keys' endorsements.
resource "google_kms_crypto_key_iam_member" "pipeline_wraps_delegated_keys" {
  crypto_key_id = var.delegated_wrapping_key_id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = local.pipeline
}

resource "google_artifact_registry_repository_iam_member" "pipeline_pulls" {
  project    = var.project_id
  location   = var.registry_location
  repository = var.registry_repository
  role       = "roles/artifactregistry.reader"
  member     = local.pipeline
}
