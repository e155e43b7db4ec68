# Cloud Armor in front of the site. Rules are evaluated by priority and the first match
# decides, so attacks are refused before any rate limit lets a request through:
#
#   1000        Log4j JNDI lookups (cve-canary)                         deny 403
#   1100-1199   OWASP Core Rule Set 3.3, one rule per preconfigured set  deny 403 (or preview)
#   1500        sign-in: POST /lookup, /account/sign-in (API key forms)  throttle, 429 past the limit
#   1600        ingest: POST /v1/events and /v1/events:batch, per IP     throttle, 429 past the limit
#   2000        everything else, per client IP                           throttle, 429 past the limit
#   2147483647  allow
#
# The site keeps its own token buckets behind this (10/s per IP, 5/s per API key, per worker
# process); Cloud Armor's ceilings hold across every instance and region at once. Sign-in and
# ingest get tighter ones: a sign-in is a person typing a key, and a producer posting more
# than a few requests a second should batch (up to 500 events a request, docs/PRODUCERS.md).
locals {
  # The OWASP CRS 3.3 sets that apply to an HTTP site; the language-specific ones (php,
  # nodejs, java) guard frameworks the site does not run.
  owasp_rules = {
    "sqli-v33-stable"              = "SQL injection"
    "xss-v33-stable"               = "cross-site scripting"
    "lfi-v33-stable"               = "local file inclusion"
    "rfi-v33-stable"               = "remote file inclusion"
    "rce-v33-stable"               = "remote code execution"
    "methodenforcement-v33-stable" = "methods other than the site's"
    "scannerdetection-v33-stable"  = "vulnerability scanners"
    "protocolattack-v33-stable"    = "HTTP request smuggling and response splitting"
    "sessionfixation-v33-stable"   = "session fixation"
  }
  owasp_priorities = { for index, name in sort(keys(local.owasp_rules)) : name => 1100 + index }
  # Each set at the sensitivity chosen, less the signatures opted out after a false positive.
  waf_options = {
    for name in keys(local.owasp_rules) : name => (
      length(lookup(var.waf_opt_out_rule_ids, name, [])) == 0
      ? "{'sensitivity': ${var.waf_sensitivity}}"
      : "{'sensitivity': ${var.waf_sensitivity}, 'opt_out_rule_ids': ['${join("', '", var.waf_opt_out_rule_ids[name])}']}"
    )
  }
  throttled = {
    signin = {
      priority    = 1500
      description = "Sign-in (POST /lookup or /account/sign-in with an API key): per-IP ceiling"
      expression  = "request.method == 'POST' && (request.path == '/lookup' || request.path == '/account/sign-in')"
      per_minute  = var.signin_requests_per_minute_per_ip
    }
    ingest = {
      priority    = 1600
      description = "Ingest (POST /v1/events, /v1/events:batch): per-IP ceiling"
      expression  = "request.method == 'POST' && request.path.startsWith('/v1/events')"
      per_minute  = var.ingest_requests_per_minute_per_ip
    }
  }
}

resource "google_compute_security_policy" "site" {
  project     = var.project_id
  name        = "${var.name}-armor"
  description = "Verifier site: adaptive DDoS protection, OWASP CRS 3.3, Log4j probes refused, per-IP rate limits"

  adaptive_protection_config {
    layer_7_ddos_defense_config {
      enable = true
    }
  }

  # The WAF reads JSON bodies (POST /v1/verify, ingest) as JSON, value by value, rather
  # than as one string: fewer false positives on signed receipts and producer text.
  advanced_options_config {
    json_parsing = "STANDARD"
    log_level    = "NORMAL"
  }

  rule {
    action      = "deny(403)"
    priority    = 1000
    description = "Log4j JNDI lookups (CVE-2021-44228, CVE-2021-45046)"
    match {
      expr {
        expression = "evaluatePreconfiguredExpr('cve-canary')"
      }
    }
  }

  dynamic "rule" {
    for_each = local.owasp_rules
    content {
      action      = "deny(403)"
      priority    = local.owasp_priorities[rule.key]
      description = "OWASP CRS 3.3: ${rule.value}"
      preview     = var.waf_preview
      match {
        expr {
          expression = "evaluatePreconfiguredWaf('${rule.key}', ${local.waf_options[rule.key]})"
        }
      }
    }
  }

  dynamic "rule" {
    for_each = local.throttled
    content {
      action      = "throttle"
      priority    = rule.value.priority
      description = rule.value.description
      match {
        expr {
          expression = rule.value.expression
        }
      }
      rate_limit_options {
        conform_action = "allow"
        exceed_action  = "deny(429)"
        enforce_on_key = "IP"
        rate_limit_threshold {
          count        = rule.value.per_minute
          interval_sec = 60
        }
      }
    }
  }

  rule {
    action      = "throttle"
    priority    = 2000
    description = "Per-client-IP ceiling in front of the site's own rate limits"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"
      rate_limit_threshold {
        count        = var.requests_per_minute_per_ip
        interval_sec = 60
      }
    }
  }

  rule {
    action      = "allow"
    priority    = 2147483647
    description = "Everything else"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}
