# One global HTTPS address for the site's Cloud Run services in several regions: a
# serverless NEG per region behind one backend service. Requests go to the nearest
# healthy region; outlier detection ejects a region whose service answers with errors,
# so a regional outage fails over without anyone touching DNS. Cloud Armor (armor.tf) sits
# in front; HTTP redirects to HTTPS.
resource "google_compute_region_network_endpoint_group" "site" {
  for_each = var.services

  project               = var.project_id
  name                  = "${var.name}-${each.key}"
  region                = each.key
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = each.value
  }
}

resource "google_compute_backend_service" "site" {
  project               = var.project_id
  name                  = "${var.name}-backend"
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.site.id

  dynamic "backend" {
    for_each = google_compute_region_network_endpoint_group.site
    content {
      group = backend.value.id
    }
  }

  outlier_detection {
    consecutive_errors = 5
    interval {
      seconds = 10
    }
    base_ejection_time {
      seconds = 30
    }
    max_ejection_percent = 50
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }
}

resource "google_compute_url_map" "site" {
  project         = var.project_id
  name            = "${var.name}-https"
  default_service = google_compute_backend_service.site.id
}

resource "google_compute_managed_ssl_certificate" "site" {
  project = var.project_id
  name    = "${var.name}-cert"

  managed {
    domains = [var.domain]
  }
}

resource "google_compute_ssl_policy" "site" {
  project         = var.project_id
  name            = "${var.name}-tls"
  profile         = "RESTRICTED"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_target_https_proxy" "site" {
  project          = var.project_id
  name             = "${var.name}-https"
  url_map          = google_compute_url_map.site.id
  ssl_certificates = [google_compute_managed_ssl_certificate.site.id]
  ssl_policy       = google_compute_ssl_policy.site.id
}

resource "google_compute_global_address" "site" {
  project = var.project_id
  name    = "${var.name}-ip"
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project_id
  name                  = "${var.name}-https"
  target                = google_compute_target_https_proxy.site.id
  ip_address            = google_compute_global_address.site.id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

resource "google_compute_url_map" "redirect" {
  project = var.project_id
  name    = "${var.name}-http-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  project = var.project_id
  name    = "${var.name}-http-redirect"
  url_map = google_compute_url_map.redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project_id
  name                  = "${var.name}-http"
  target                = google_compute_target_http_proxy.redirect.id
  ip_address            = google_compute_global_address.site.id
  port_range            = "80"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}
