variable "project_id" {
  description = "Google Cloud project id."
  type        = string
}

variable "name" {
  description = "Name of the VPC network; subnets are named NAME-REGION."
  type        = string
  default     = "receipts"
}

variable "subnets" {
  description = "Worker subnets: region => IPv4 CIDR range (the primary region and, in prod, the failover region)."
  type        = map(string)
}
