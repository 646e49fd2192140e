//! Incoming, from the operator's monitoring: the container runtime's health probes
//! (`GET /health/live`, `GET /health/ready`) and Prometheus's scrape (`GET /metrics`).
//! Must not depend on another incoming module (`loyalty_api`, `vendor_api`, `ui`); `routes` mounts it.

pub mod health;
pub mod scrape;
