# receipts-site, the verifier site: reads the ledger (Firestore viewer), checks API keys and
# keeps its sessions (Spanner role verifier_site: it writes Sessions and nothing else, so it
# cannot write a receipt), publishes accepted events to billing-events (POST /v1/events),
# and publishes the public keys.
resource "google_project_iam_member" "site_reads_ledger" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = local.site
}

resource "google_pubsub_topic_iam_member" "site_publishes_events" {
  project = var.project_id
  topic   = var.events_topic_name
  role    = "roles/pubsub.publisher"
  member  = local.site
}

# The site connects with the database role verifier_site (receipts/stores/gcp/spanner_roles.sql:
# it reads API keys and intake, and creates and deletes its sessions, nothing else), through
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
