# The verifier site in one region (`receipts serve` in the image built from
# verifier_site/Dockerfile). Prod runs one per region behind the load balancer module.
resource "google_cloud_run_v2_service" "site" {
  project  = var.project_id
  name     = var.service_name
  location = var.region
  ingress  = var.ingress
  labels   = var.labels

  template {
    service_account                  = var.service_account
    max_instance_request_concurrency = 80

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image

      ports {
        container_port = 8080
      }

      env {
        name  = "RECEIPTS_STORE"
        value = var.store_url
      }
      env {
        name  = "RECEIPTS_KMS_KEYS" # every version receipts were signed with, current first
        value = join(" ", var.kms_key_versions)
      }
      env {
        name  = "RECEIPTS_TRUSTED_PROXIES"
        value = tostring(var.trusted_proxies)
      }
      env {
        name  = "RECEIPTS_HTTPS"
        value = "1"
      }
      env {
        name = "RECEIPTS_SITE_SECRET"
        value_source {
          secret_key_ref {
            secret  = var.session_secret
            version = "latest"
          }
        }
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "1Gi"
        }
        cpu_idle = true
      }

      # Ready once the store answers and the KMS public keys are loaded (/healthz).
      # No liveness probe on /healthz: a brief Spanner hiccup must not restart every instance.
      startup_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds    = 5
        failure_threshold = 24
      }
    }
  }
}

resource "google_cloud_run_v2_service_iam_member" "public" {
  #checkov:skip=CKV_GCP_102:The verifier site is public by design: anyone may verify receipts and fetch the JWKS; customer data sits behind per-customer API keys in the app.
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.site.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
