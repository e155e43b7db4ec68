#!/bin/sh
# Regional failover, the step after the new job is launched (docs/DEPLOY.md "Regional
# failover"): seek the job's subscription back to the failure time minus the maximum
# pipeline latency, so every event the lost job had acked but not yet written is delivered
# again. Replayed events that were written are duplicates and charge nothing (idempotency
# keys); the subscription retains acked messages for 7 days (terraform/modules/pubsub).
#
#   terraform/scripts/failover-seek.sh --failure-time 2026-03-01T09:12:00Z --max-latency 15m \
#     [--subscription billing-events-sub] [--project P] [--dry-run]
#
# --max-latency: seconds, or with a unit (90s, 15m, 2h). It must cover the longest any event
# took from publish to stored before the failure: the subscription's oldest unacked message
# age plus the job's system lag, and receipts waiting for a predecessor (see DEPLOY.md).
# Too wide only costs duplicates; too narrow loses what was in flight, and you may seek
# again further back at any time within the retention.
set -eu

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit "${1:-2}"
}

failure_time="" max_latency="" subscription="billing-events-sub" project="" dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --failure-time) failure_time="${2:?--failure-time needs a value}"; shift 2 ;;
    --max-latency) max_latency="${2:?--max-latency needs a value}"; shift 2 ;;
    --subscription) subscription="${2:?--subscription needs a value}"; shift 2 ;;
    --project) project="${2:?--project needs a value}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "failover-seek: unknown argument $1" >&2; usage 2 ;;
  esac
done
if [ -z "$failure_time" ] || [ -z "$max_latency" ]; then
  echo "failover-seek: --failure-time and --max-latency are required" >&2
  usage 2
fi

# Seconds in a duration: 900, 900s, 15m, 2h.
seconds_of() {
  case "$1" in
    *[!0-9smh]* | '' | [smh]*) return 1 ;;
    *s) echo "${1%s}" ;;
    *m) echo $((${1%m} * 60)) ;;
    *h) echo $((${1%h} * 3600)) ;;
    *) echo "$1" ;;
  esac
}

# Epoch seconds of an RFC 3339 time: GNU date, else BSD date (UTC "Z" times only).
epoch_of() {
  date -u -d "$1" +%s 2>/dev/null || date -u -j -f '%Y-%m-%dT%H:%M:%SZ' "$1" +%s 2>/dev/null
}

rfc3339_of() {
  date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$1" +%Y-%m-%dT%H:%M:%SZ
}

latency=$(seconds_of "$max_latency") || {
  echo "failover-seek: --max-latency $max_latency is not a duration (900, 900s, 15m, 2h)" >&2
  exit 2
}
failed_at=$(epoch_of "$failure_time") || {
  echo "failover-seek: --failure-time $failure_time is not an RFC 3339 time (2026-03-01T09:12:00Z)" >&2
  exit 2
}
now=$(date -u +%s)
retention=$((7 * 24 * 3600))
seek_at=$((failed_at - latency))
seek_time=$(rfc3339_of "$seek_at")

if [ "$failed_at" -gt "$now" ]; then
  echo "failover-seek: the failure time $failure_time is in the future" >&2
  exit 2
fi
if [ $((now - seek_at)) -gt "$retention" ]; then
  echo "failover-seek: $seek_time is more than 7 days ago: the subscription no longer holds those messages" >&2
  exit 2
fi

set -- pubsub subscriptions seek "$subscription" --time="$seek_time"
if [ -n "$project" ]; then
  set -- "$@" --project="$project"
fi

echo "Subscription:         $subscription${project:+ (project $project)}"
echo "Failure time:         $(rfc3339_of "$failed_at")"
echo "Max pipeline latency: ${latency} s"
echo "Seek to:              $seek_time"
echo "Every message published since $seek_time is delivered again; the ones already"
echo "charged are duplicates (no new receipt, no charge). Make sure no job in the failed"
echo "region still reads $subscription (two jobs on one subscription refuse each other's receipts)."
echo "Command:              gcloud $*"

if [ "$dry_run" -eq 1 ]; then
  echo "Dry run: nothing was changed."
  exit 0
fi
gcloud "$@"
echo "Done: the subscription is at $seek_time. Watch the backlog drain (oldest unacked message age)."
