//! The integration tests of ihsm-proto, in one binary: round trips of every message, one
//! test per decoding status, no panic and bounded allocation on any input, and the worked
//! example and tables of docs/design/protocol.md checked against the code.
//!
//! Each module is `cfg(test)` so the workspace's test allowances (unwrap, indexing) cover its
//! helper functions too.

#[cfg(test)]
#[path = "proto/docs.rs"]
mod docs;
#[cfg(test)]
#[path = "proto/never_panics.rs"]
mod never_panics;
#[cfg(test)]
#[path = "proto/round_trip.rs"]
mod round_trip;
#[cfg(test)]
#[path = "proto/samples.rs"]
mod samples;
#[cfg(test)]
#[path = "proto/statuses.rs"]
mod statuses;
