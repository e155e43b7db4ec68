# Two identities, each with only what its code calls:
#   receipts-pipeline  the Dataflow workers (and launcher) of the streaming and reconcile jobs
#   receipts-site      the verifier site on Cloud Run: reads only, plus its session secret
# Roles are granted on the one resource they concern wherever Google allows it; Firestore
# and the Dataflow worker role exist only at project level.
resource "google_service_account" "pipeline" {
  project      = var.project_id
  account_id   = "receipts-pipeline"
  display_name = "Receipts pipelines (Dataflow workers)"
}

resource "google_service_account" "site" {
  project      = var.project_id
  account_id   = "receipts-site"
  display_name = "Receipts verifier site (Cloud Run)"
}

locals {
  pipeline = "serviceAccount:${google_service_account.pipeline.email}"
  site     = "serviceAccount:${google_service_account.site.email}"
}

# -- the pipeline ------------------------------------------------------------------------
resource "google_project_iam_member" "pipeline" {
  for_each = toset([
    "roles/dataflow.worker",       # run as a Dataflow worker
    "roles/datastore.user",        # create ledger and dead-letter documents (Firestore IAM is project-wide)
    "roles/logging.logWriter",     # worker logs
    "roles/monitoring.metricWriter", # Beam counters as Cloud Monitoring metrics
  ])

  project = var.project_id
  role    = each.value
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
  for_each = toset([var.dead_letter_topic_name, var.reconcile_alert_topic_name])

  project = var.project_id
  topic   = each.value
  role    = "roles/pubsub.publisher"
  member  = local.pipeline
}

resource "google_spanner_database_iam_member" "pipeline" {
  project  = var.project_id
  instance = var.spanner_instance
  database = var.spanner_database
  role     = "roles/spanner.databaseUser"
  member   = local.pipeline
}

# Archive objects are created once, and their metadata (the sha256 set at create) read to
# tell a replay from a conflict; the pipeline can neither replace, delete nor relabel one.
resource "google_storage_bucket_iam_member" "pipeline_archive" {
  for_each = toset(["roles/storage.objectCreator", "roles/storage.objectViewer"])

  bucket = var.archive_bucket
  role   = each.value
  member = local.pipeline
}

resource "google_storage_bucket_iam_member" "pipeline_staging" {
  bucket = var.staging_bucket
  role   = "roles/storage.objectAdmin"
  member = local.pipeline
}

resource "google_kms_crypto_key_iam_member" "pipeline_signs" {
  crypto_key_id = var.signing_key_id
  role          = "roles/cloudkms.signerVerifier"
  member        = local.pipeline
}

resource "google_kms_crypto_key_iam_member" "pipeline_signs_checkpoints" {
  crypto_key_id = var.log_signing_key_id
  role          = "roles/cloudkms.signerVerifier"
  member        = local.pipeline
}

resource "google_artifact_registry_repository_iam_member" "pipeline_pulls" {
  project    = var.project_id
  location   = var.registry_location
  repository = var.registry_repository
  role       = "roles/artifactregistry.reader"
  member     = local.pipeline
}

# -- the site --------------------------------------------------------------------------
resource "google_project_iam_member" "site_reads_ledger" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = local.site
}

# The site connects with the database role verifier_site (receipts/stores/gcp/spanner_roles.sql:
# it reads API keys, and creates and deletes its sessions, nothing else), through
# fine-grained access control: no database-wide reader or user role.
resource "google_spanner_database_iam_member" "site" {
  project  = var.project_id
  instance = var.spanner_instance
  database = var.spanner_database
  role     = "roles/spanner.fineGrainedAccessUser"
  member   = local.site
}

resource "google_spanner_database_iam_member" "site_database_role" {
  project  = var.project_id
  instance = var.spanner_instance
  database = var.spanner_database
  role     = "roles/spanner.databaseRoleUser"
  member   = local.site

  condition {
    title      = "verifier_site role only"
    expression = "resource.type == \"spanner.googleapis.com/DatabaseRole\" && resource.name.endsWith(\"/databaseRoles/verifier_site\")"
  }
}

resource "google_kms_crypto_key_iam_member" "site_publishes_public_keys" {
  crypto_key_id = var.signing_key_id
  role          = "roles/cloudkms.publicKeyViewer"
  member        = local.site
}

resource "google_kms_crypto_key_iam_member" "site_publishes_log_key" {
  crypto_key_id = var.log_signing_key_id
  role          = "roles/cloudkms.publicKeyViewer"
  member        = local.site
}

resource "google_artifact_registry_repository_iam_member" "site_pulls" {
  project    = var.project_id
  location   = var.registry_location
  repository = var.registry_repository
  role       = "roles/artifactregistry.reader"
  member     = local.site
}

# Every site instance signs sessions with the same secret. Terraform creates the secret,
# not its value (which would then sit in the state): docs/DEPLOY.md adds the version.
resource "google_secret_manager_secret" "site_session" {
  project   = var.project_id
  secret_id = "receipts-site-session"
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "site_reads_session_secret" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.site_session.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.site
}
