# A private network for the Dataflow workers: one subnet per region (the primary and the
# failover region), Private Google Access so workers without external IPs reach Pub/Sub,
# Spanner, Firestore, Cloud Storage and KMS, flow logs, and one firewall rule that lets
# workers of the same job talk to each other (Dataflow's shuffle and streaming ports).
resource "google_compute_network" "this" {
  project                 = var.project_id
  name                    = var.name
  auto_create_subnetworks = false
  routing_mode            = "GLOBAL"
}

resource "google_compute_subnetwork" "workers" {
  for_each = var.subnets

  project                  = var.project_id
  name                     = "${var.name}-${each.key}"
  region                   = each.key
  network                  = google_compute_network.this.id
  ip_cidr_range            = each.value
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_firewall" "dataflow_internal" {
  project     = var.project_id
  name        = "${var.name}-dataflow-internal"
  network     = google_compute_network.this.id
  description = "Dataflow workers of one job exchange data on TCP 12345-12346."
  direction   = "INGRESS"
  priority    = 1000

  allow {
    protocol = "tcp"
    ports    = ["12345-12346"]
  }

  source_tags = ["dataflow"]
  target_tags = ["dataflow"]

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}
