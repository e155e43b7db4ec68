# A VPC Service Controls perimeter around the project: the Google APIs that hold receipts,
# keys and images answer only calls from inside it (the workers' network, the services'
# own identities) or the ingress rules below, so a leaked credential used from elsewhere
# cannot read the ledger or copy the archive out. Designed here and applied where the
# organisation allows: a perimeter lives in the organisation's access policy
# (var.access_policy) and needs Access Context Manager rights there, which a project owner
# usually lacks. Without an access policy the environment creates nothing of this.
#
# Dry run first: with enforce = false only the dry-run spec is written; calls it would refuse
# are logged (protoPayload.metadata.dryRun = true, docs/DEPLOY.md) and none is refused.
# Enforce once a week of logs shows nothing but what the rules below let in.
data "google_project" "this" {
  project_id = var.project_id
}

locals {
  restricted_services = [
    "artifactregistry.googleapis.com",
    "cloudkms.googleapis.com",
    "dataflow.googleapis.com",
    "datastore.googleapis.com",
    "firestore.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "spanner.googleapis.com",
    "storage.googleapis.com",
  ]
  # Who may call in from outside, and for what: operators (Terraform, gcloud, docker push,
  # the receipts command) anything; producers publishing to Pub/Sub; Cloud Scheduler's
  # launch of the hourly reconciliation, which reaches the Dataflow API from outside.
  ingress = [
    for rule in [
      { identities = var.operator_members, service = "*", method = "*" },
      { identities = var.producer_members, service = "pubsub.googleapis.com", method = "google.pubsub.v1.Publisher.Publish" },
      { identities = var.scheduler_members, service = "dataflow.googleapis.com", method = "*" },
    ] : rule if length(rule.identities) > 0
  ]
}

resource "google_access_context_manager_service_perimeter" "receipts" {
  parent                    = "accessPolicies/${var.access_policy}"
  name                      = "accessPolicies/${var.access_policy}/servicePerimeters/${var.name}"
  title                     = var.name
  perimeter_type            = "PERIMETER_TYPE_REGULAR"
  use_explicit_dry_run_spec = !var.enforce

  # The same rules, in the dry-run spec until enforced, then in the enforced status.
  dynamic "spec" {
    for_each = var.enforce ? [] : [1]
    content {
      resources           = ["projects/${data.google_project.this.number}"]
      restricted_services = local.restricted_services

      vpc_accessible_services {
        enable_restriction = true
        allowed_services   = ["RESTRICTED-SERVICES"]
      }

      dynamic "ingress_policies" {
        for_each = local.ingress
        content {
          ingress_from {
            identities = ingress_policies.value.identities
            sources {
              access_level = "*"
            }
          }
          ingress_to {
            resources = ["*"]
            operations {
              service_name = ingress_policies.value.service
              method_selectors {
                method = ingress_policies.value.method
              }
            }
          }
        }
      }
    }
  }

  dynamic "status" {
    for_each = var.enforce ? [1] : []
    content {
      resources           = ["projects/${data.google_project.this.number}"]
      restricted_services = local.restricted_services

      vpc_accessible_services {
        enable_restriction = true
        allowed_services   = ["RESTRICTED-SERVICES"]
      }

      dynamic "ingress_policies" {
        for_each = local.ingress
        content {
          ingress_from {
            identities = ingress_policies.value.identities
            sources {
              access_level = "*"
            }
          }
          ingress_to {
            resources = ["*"]
            operations {
              service_name = ingress_policies.value.service
              method_selectors {
                method = ingress_policies.value.method
              }
            }
          }
        }
      }
    }
  }
}

# Inside the perimeter the workers reach Google APIs through restricted.googleapis.com, the
# address that serves only services VPC Service Controls supports: a private zone answers
# every *.googleapis.com name with it (Private Google Access is on in every subnet).
resource "google_dns_managed_zone" "restricted_apis" {
  project     = var.project_id
  name        = "${var.name}-restricted-apis"
  dns_name    = "googleapis.com."
  description = "googleapis.com through restricted.googleapis.com (VPC Service Controls)"
  visibility  = "private"

  private_visibility_config {
    networks {
      network_url = var.network
    }
  }
}

resource "google_dns_record_set" "restricted" {
  project      = var.project_id
  managed_zone = google_dns_managed_zone.restricted_apis.name
  name         = "restricted.googleapis.com."
  type         = "A"
  ttl          = 300
  rrdatas      = ["199.36.153.4", "199.36.153.5", "199.36.153.6", "199.36.153.7"]
}

resource "google_dns_record_set" "every_api" {
  project      = var.project_id
  managed_zone = google_dns_managed_zone.restricted_apis.name
  name         = "*.googleapis.com."
  type         = "CNAME"
  ttl          = 300
  rrdatas      = ["restricted.googleapis.com."]
}
