# receipts-deployer, the identity CI applies Terraform and publishes releases as (container
# images, Flex Template specs and the JWKS in the releases bucket), so that nobody deploys
# as project Owner. CI reaches it by Workload Identity Federation (deployer_principals): it
# has no key. docs/DEPLOY.md says how the first apply, by an Owner, creates it.
#
# It administers every resource Terraform manages, so it can change anything, IAM included:
# no grant can stop an administrator. What it does is in the Admin Activity audit log (which
# cannot be turned off), and changes to IAM, keys, retention and the schema page on-call
# (terraform/modules/audit). It has no basic role (Owner, Editor) and no signing permission.
locals {
  deployer_roles = [
    "roles/artifactregistry.admin",          # the image repository; pushing images
    "roles/cloudkms.admin",                  # key ring, key and its IAM; not cryptographic operations
    "roles/cloudscheduler.admin",            # the hourly reconciliation
    "roles/compute.loadBalancerAdmin",       # the global HTTPS load balancer
    "roles/compute.networkAdmin",            # VPC, subnets, addresses
    "roles/compute.securityAdmin",           # firewall rules, Cloud Armor, SSL policies
    "roles/dataflow.admin",                  # the streaming job
    "roles/datastore.owner",                 # the Firestore database, indexes, backups
    "roles/firebaserules.admin",             # Firestore security rules
    "roles/iam.roleAdmin",                   # the custom ledger roles
    "roles/iam.serviceAccountAdmin",         # the service accounts and who may act as them
    "roles/logging.configWriter",            # the audit-log bucket, sink and log-based metrics
    "roles/monitoring.editor",               # alert policies, channels, uptime checks
    "roles/pubsub.admin",                    # topics, subscriptions, their IAM
    "roles/resourcemanager.projectIamAdmin", # project IAM and the Data Access audit configs
    "roles/run.admin",                       # the site
    "roles/secretmanager.admin",             # the session secret (never its value)
    "roles/serviceusage.serviceUsageAdmin",  # the project's APIs
    "roles/spanner.admin",                   # instance, database, DDL and database roles, backups
    "roles/storage.admin",                   # buckets, retention policies, releases, state bucket
  ]
}

resource "google_project_iam_member" "deployer" {
  #checkov:skip=CKV_GCP_49:The deployer creates the workloads' service accounts (serviceAccountAdmin) and the streaming job (dataflow.admin); it may act only as the accounts granted to it one by one below, never project-wide.
  #checkov:skip=CKV_GCP_42:The deployer applies this Terraform: creating the buckets, keys, databases and IAM it manages takes these admin roles. No workload holds one; its use is audited and alerted on (modules/audit), and only CI can act as it.
  for_each = toset(local.deployer_roles)

  project = var.project_id
  role    = each.value
  member  = local.deployer
}

# Deploying a Dataflow job or a Cloud Run service that runs as an identity takes actAs on
# that identity; granted on each one, never project-wide. (The scheduler's launcher grants
# its own, in modules/reconcile_schedule.)
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = {
    pipeline = google_service_account.pipeline.name
    auditor  = google_service_account.auditor.name
    site     = google_service_account.site.name
  }

  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = local.deployer
}

# `receipts keys jwks --kms-key` reads the public keys it publishes to the releases bucket.
resource "google_kms_crypto_key_iam_member" "deployer_reads_public_keys" {
  crypto_key_id = var.signing_key_id
  role          = "roles/cloudkms.publicKeyViewer"
  member        = local.deployer
}

resource "google_service_account_iam_member" "ci_acts_as_deployer" {
  for_each = toset(var.deployer_principals)

  service_account_id = google_service_account.deployer.name
  role               = "roles/iam.workloadIdentityUser"
  member             = each.value
}
