# Alert policies for the seed's "Billing health" and "System health" metrics, on what this
# system really emits: the pipeline's Beam counters (namespace "receipts", exported by
# Dataflow as dataflow.googleapis.com/job/user_counter with the counter in metric_name),
# Dataflow and Pub/Sub system metrics, Cloud KMS API errors, the reconciliation alert
# topic, Spanner CPU and the site on Cloud Run. Each policy names its runbook section.
locals {
  runbook  = "${var.runbook_url}#"
  channels = [for channel in google_monitoring_notification_channel.email : channel.id]

  # Beam counters: an alert when one grows by more than `threshold` in `window`.
  counters = {
    receipt_conflicts = {
      title     = "Receipts refused by the store (chain link or receipt id conflict)"
      threshold = 0
      window    = "10m"
      severity  = "CRITICAL"
      runbook   = "hash-chain-validation-errors"
      why       = "Seed: hash chain validation errors > 0. The store refused a receipt that did not extend its customer's chain, or a different receipt under an existing id; it was kept as a dead letter receipt_conflict and nothing was charged."
    }
    log_checkpoints_below_quorum = {
      title     = "Transparency log checkpoints published below the witness quorum"
      threshold = 0
      window    = "30m"
      severity  = "WARNING"
      runbook   = "transparency-log-witnesses"
      why       = "A checkpoint was published with fewer witness cosignatures than the policy needs: a witness is down, refuses (a 422 means it saw another history: treat as possible tampering), or cannot be reached. Charging and logging go on; customers' verifiers that require the quorum refuse these checkpoints until a later one is cosigned."
    }
    ledger_conflicts = {
      title     = "Ledger conflicts (a different receipt under an existing Firestore id)"
      threshold = 0
      window    = "10m"
      severity  = "CRITICAL"
      runbook   = "hash-chain-validation-errors"
      why       = "The create-only ledger holds another receipt under this id; the stored one stands. Never expected: treat as possible tampering."
    }
    dead_letters = {
      title     = "Dead letters above the usual rate"
      threshold = var.dead_letter_threshold
      window    = "10m"
      severity  = "WARNING"
      runbook   = "error-rate-spike"
      why       = "Invalid events (producers' bugs) and refused receipts are kept as dead letters; a burst means a producer or the pipeline changed."
    }
    idempotency_conflicts = {
      title     = "Idempotency conflicts (same key, different payload)"
      threshold = var.idempotency_conflict_threshold
      window    = "10m"
      severity  = "WARNING"
      runbook   = "error-rate-spike"
      why       = "Seed: duplicate payment attempts blocked. A producer reused idempotency keys for different charges; none was billed twice."
    }
  }
}

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.notification_emails)

  project      = var.project_id
  display_name = "Receipts on-call ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }
}

resource "google_monitoring_alert_policy" "counter" {
  for_each = local.counters

  project               = var.project_id
  display_name          = "Receipts: ${each.value.title}"
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = local.channels

  conditions {
    display_name = "receipts/${each.key} grew by more than ${each.value.threshold} in ${each.value.window}"
    condition_prometheus_query_language {
      query               = "sum(delta(dataflow_googleapis_com:job_user_counter{monitored_resource=\"dataflow_job\",metric_name=\"${each.key}\",job_name=~\"${var.job_name_prefix}.*\"}[${each.value.window}])) > ${each.value.threshold}"
      duration            = "0s"
      evaluation_interval = "60s"
    }
  }

  documentation {
    content   = "${each.value.why}\n\nRunbook: ${local.runbook}${each.value.runbook}"
    mime_type = "text/markdown"
  }

  alert_strategy {
    auto_close = "1800s"
  }
}

# The job's subscription has no dead-letter policy (Dataflow does not support one): an event
# that is not being turned into a receipt stays unacked in it, and its age is what tells.
# Two policies on pubsub.googleapis.com/subscription/oldest_unacked_message_age: the job
# falls behind (ERROR), and events near the subscription's retention, lost if they pass it
# (CRITICAL).
resource "google_monitoring_alert_policy" "backlog" {
  project               = var.project_id
  display_name          = "Receipts: events waiting in Pub/Sub (oldest unacked message age)"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels

  conditions {
    display_name = "oldest unacknowledged event older than ${var.backlog_seconds} s"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${var.subscription_name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.backlog_seconds
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "An event has waited in ${var.subscription_name} for more than ${var.backlog_seconds} s: the streaming job is behind, stalled on one key or customer, or not running. Nothing moves events out of the subscription but the job (no dead-letter policy), so none is lost before the retention; find what holds it. Runbook: ${local.runbook}events-waiting-in-pubsub"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "backlog_near_retention" {
  project               = var.project_id
  display_name          = "Receipts: events near the subscription's retention (lost if not read)"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels

  conditions {
    display_name = "oldest unacknowledged event older than ${var.backlog_critical_seconds} s"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${var.subscription_name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.backlog_critical_seconds
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "An event has waited in ${var.subscription_name} for more than ${var.backlog_critical_seconds} s; Pub/Sub deletes it unread at the subscription's message retention (7 days), and nobody is charged. Runbook: ${local.runbook}events-waiting-in-pubsub"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "latency" {
  project               = var.project_id
  display_name          = "Receipts: receipt generation latency (Dataflow system lag)"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels

  conditions {
    display_name = "system lag above ${var.system_lag_seconds} s"
    condition_threshold {
      filter          = "resource.type = \"dataflow_job\" AND resource.labels.job_name = starts_with(\"${var.job_name_prefix}\") AND metric.type = \"dataflow.googleapis.com/job/system_lag\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.system_lag_seconds
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Seed: receipt generation latency p99. In this design an event becomes a receipt inside the streaming job; its system lag is the longest time an event has waited in it. Runbook: ${local.runbook}latency-spike"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "job_failed" {
  project               = var.project_id
  display_name          = "Receipts: a Dataflow job failed (streaming or reconciliation)"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels

  conditions {
    display_name = "job is_failed"
    condition_threshold {
      filter          = "resource.type = \"dataflow_job\" AND resource.labels.job_name = starts_with(\"receipts-\") AND metric.type = \"dataflow.googleapis.com/job/is_failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Seed: ledger reconciliation success (any failure). Runbook: ${local.runbook}error-rate-spike"
    mime_type = "text/markdown"
  }
}

# The hourly reconciliation (modules/reconcile_schedule) could not finish: nothing is proven
# and, if the ledger is damaged, intake was not frozen. Page, as for a discrepancy.
resource "google_monitoring_alert_policy" "reconcile_failed" {
  project               = var.project_id
  display_name          = "Receipts: the hourly reconciliation job failed"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels

  conditions {
    display_name = "Dataflow job ${var.reconcile_job_name} failed"
    condition_threshold {
      filter          = "resource.type = \"dataflow_job\" AND resource.labels.job_name = \"${var.reconcile_job_name}\" AND metric.type = \"dataflow.googleapis.com/job/is_failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Seed: the hourly reconciliation job fails (P1). The run did not finish, so the ledger is unproven and intake was not frozen automatically: rerun it (`receipts reconcile --freeze-on-failure`), freeze by hand if in doubt (`receipts intake freeze --reason ...`). Runbook: ${local.runbook}freezing-intake"
    mime_type = "text/markdown"
  }
}

# The monthly close (modules/statements_schedule) could not finish: some customers may have
# no statement for the month. A rerun completes it (the close time is fixed by the first run).
resource "google_monitoring_alert_policy" "statements_failed" {
  project               = var.project_id
  display_name          = "Receipts: the monthly statements close failed"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels

  conditions {
    display_name = "Dataflow job ${var.statements_job_name} failed"
    condition_threshold {
      filter          = "resource.type = \"dataflow_job\" AND resource.labels.job_name = \"${var.statements_job_name}\" AND metric.type = \"dataflow.googleapis.com/job/is_failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "The month's close did not finish, so some customers may lack its statement. Rerun it (`receipts statements close --period YYYY-MM` as receipts-statements, or launch the statements template with the same period): the close time is fixed by the first run, so the rerun issues the missing statements and changes none. Out of order (a month missed)? Close the missed month first. Runbook: ${local.runbook}statements-close-failed"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "reconcile_discrepancy" {
  project               = var.project_id
  display_name          = "Receipts: reconciliation found a discrepancy"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels

  conditions {
    display_name = "a message on ${var.reconcile_alert_topic_name}"
    condition_threshold {
      filter          = "resource.type = \"pubsub_topic\" AND resource.labels.topic_id = \"${var.reconcile_alert_topic_name}\" AND metric.type = \"pubsub.googleapis.com/topic/send_message_operation_count\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  documentation {
    content   = "Seed: ledger reconciliation success, customer balance accuracy, corruption detected by the reconciliation job (P1: stop accepting new events; the scheduled run has frozen intake, the alert message says so). Runbook: ${local.runbook}reconciliation-found-a-discrepancy"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "signing_errors" {
  project               = var.project_id
  display_name          = "Receipts: Cloud KMS signing errors"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels

  conditions {
    display_name = "Cloud KMS calls failing"
    condition_threshold {
      filter          = "resource.type = \"consumed_api\" AND resource.labels.service = \"cloudkms.googleapis.com\" AND metric.type = \"serviceruntime.googleapis.com/api/request_count\" AND metric.labels.response_code_class != \"2xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.kms_errors_per_second
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "The signer retries transient KMS errors; lasting ones stall signing (quota, permission, a disabled key version). Runbook: ${local.runbook}signing-errors"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "spanner_cpu" {
  project               = var.project_id
  display_name          = "Receipts: Spanner high-priority CPU"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.channels

  conditions {
    display_name = "high-priority CPU above ${var.spanner_cpu_percent}%"
    condition_threshold {
      filter          = "resource.type = \"spanner_instance\" AND resource.labels.instance_id = \"${var.spanner_instance}\" AND metric.type = \"spanner.googleapis.com/instance/cpu/utilization_by_priority\" AND metric.labels.priority = \"high\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.spanner_cpu_percent / 100
      duration        = "600s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MEAN"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "Seed: database capacity (> 80%) and the latency playbook's 'check Spanner CPU'. Runbook: ${local.runbook}latency-spike"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "site_errors" {
  project               = var.project_id
  display_name          = "Receipts site: 5xx error rate"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels

  conditions {
    display_name = "5xx above ${var.site_error_ratio * 100}% of requests"
    condition_prometheus_query_language {
      query               = "sum(rate(run_googleapis_com:request_count{monitored_resource=\"cloud_run_revision\",service_name=\"${var.site_service_name}\",response_code_class=\"5xx\"}[5m])) / sum(rate(run_googleapis_com:request_count{monitored_resource=\"cloud_run_revision\",service_name=\"${var.site_service_name}\"}[5m])) > ${var.site_error_ratio}"
      duration            = "300s"
      evaluation_interval = "60s"
    }
  }

  documentation {
    content   = "Seed: error rate (5xx) > 1%. Runbook: ${local.runbook}error-rate-spike"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "site_latency" {
  project               = var.project_id
  display_name          = "Receipts site: p99 latency"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.channels

  conditions {
    display_name = "p99 above ${var.site_latency_p99_ms} ms"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${var.site_service_name}\" AND metric.type = \"run.googleapis.com/request_latencies\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.site_latency_p99_ms
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_99"
      }
    }
  }

  documentation {
    content   = "Seed: latency p99 > 100 ms. Runbook: ${local.runbook}latency-spike"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_uptime_check_config" "site" {
  count = var.site_host == "" ? 0 : 1

  project      = var.project_id
  display_name = "Receipts site /healthz"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = "/healthz"
    port         = 443
    use_ssl      = true
    validate_ssl = true
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = var.site_host
    }
  }
}

resource "google_monitoring_alert_policy" "site_down" {
  count = var.site_host == "" ? 0 : 1

  project               = var.project_id
  display_name          = "Receipts site: unavailable"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels

  conditions {
    display_name = "/healthz failing from several checker locations"
    condition_threshold {
      filter          = "resource.type = \"uptime_url\" AND metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\" AND metric.labels.check_id = \"${google_monitoring_uptime_check_config.site[0].uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "120s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.host"]
      }
    }
  }

  documentation {
    content   = "Seed: availability < 99.9%. Runbook: ${local.runbook}error-rate-spike"
    mime_type = "text/markdown"
  }
}
