"""The site's areas: pages to look receipts up, verification, the API, keys, operations."""
