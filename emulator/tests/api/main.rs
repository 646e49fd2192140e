//! Integration tests: the real emulator server on port 0, driven with reqwest.

mod control_http;
mod customers;
mod faults;
mod helpers;
mod load;
mod products;
mod retail;
mod scenario;
