//! Integration tests: the real emulator server on port 0, driven with reqwest.

mod certificates;
mod control_http;
mod customer_edit;
mod customers;
mod faults;
mod helpers;
mod load;
mod messages;
mod products;
mod retail;
mod routes;
mod scenario;
