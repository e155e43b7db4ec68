# The monthly close (docs/STATEMENTS.md): Cloud Scheduler calls the Dataflow
# flexTemplates:launch API with the statements Flex Template (templates/statements/) and
# --period previous, early on the 1st (after the month's end plus the grace), so every
# customer gets the month's signed statement. The job fixes the month's close time once; a
# retried or repeated launch issues what is missing and returns the rest byte for byte. The
# streaming job's sequencer logs the statements as leaves after the receipts. A run that
# fails outright pages through the monitoring module's statements_failed policy.
#
# The scheduler calls the API as its own identity, allowed to launch Dataflow jobs and to run
# them as the statements job's service account (receipts-statements, terraform/modules/iam),
# and nothing else. The job runs on the private worker subnet (no external IPs).
resource "google_service_account" "launcher" {
  project      = var.project_id
  account_id   = "receipts-statements-launcher"
  display_name = "Launches the monthly statements close (Cloud Scheduler)"
}

locals {
  launcher = "serviceAccount:${google_service_account.launcher.email}"
  launch = {
    launchParameter = {
      jobName              = var.job_name
      containerSpecGcsPath = var.template_spec
      parameters = {
        store               = var.store_url
        period              = "previous"
        grace               = var.grace
        signer              = var.signer
        sdk_container_image = var.image
      }
      environment = {
        serviceAccountEmail  = var.service_account
        subnetwork           = var.subnetwork
        ipConfiguration      = "WORKER_IP_PRIVATE"
        tempLocation         = "gs://${var.staging_bucket}/temp"
        stagingLocation      = "gs://${var.staging_bucket}/staging"
        maxWorkers           = var.max_workers
        additionalUserLabels = var.labels
      }
    }
  }
}

# Launching a job is a project-level permission in Dataflow.
resource "google_project_iam_member" "launcher_launches_dataflow" {
  #checkov:skip=CKV_GCP_49:Launching a Flex Template needs dataflow.jobs.create, which Dataflow grants only per project; the launcher may act as the statements job's service account alone (granted on that one account below), so it cannot run jobs as any other identity.
  project = var.project_id
  role    = "roles/dataflow.developer"
  member  = local.launcher
}

# The job runs as receipts-statements: the launcher may act as that one only.
resource "google_service_account_iam_member" "launcher_acts_as_closer" {
  service_account_id = "projects/${var.project_id}/serviceAccounts/${var.service_account}"
  role               = "roles/iam.serviceAccountUser"
  member             = local.launcher
}

# The template spec lives in the releases bucket, which only the deployer writes.
resource "google_storage_bucket_iam_member" "launcher_reads_template" {
  bucket = var.releases_bucket
  role   = "roles/storage.objectViewer"
  member = local.launcher
}

# The deployer creates the scheduler job, which calls as the launcher: that takes actAs on it.
resource "google_service_account_iam_member" "deployer_acts_as_launcher" {
  service_account_id = google_service_account.launcher.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${var.deployer}"
}

resource "google_cloud_scheduler_job" "statements" {
  project          = var.project_id
  region           = var.region
  name             = "receipts-statements-monthly"
  description      = "Close the month just ended: one signed statement per customer (docs/STATEMENTS.md)"
  schedule         = var.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "320s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = "https://dataflow.googleapis.com/v1b3/projects/${var.project_id}/locations/${var.region}/flexTemplates:launch"
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode(local.launch))

    oauth_token {
      service_account_email = google_service_account.launcher.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [
    google_project_iam_member.launcher_launches_dataflow,
    google_service_account_iam_member.launcher_acts_as_closer,
    google_storage_bucket_iam_member.launcher_reads_template,
  ]
}
