//! The state of a `FindObjects` search, a page at a time.

use ihsm_proto::{Handle, Template};

/// A search in progress. Its cursor is valid for the next page of the same template in the
/// same session, until the session starts another search or closes; a cursor is single-use.
pub(crate) struct Search {
    pub(crate) cursor: [u8; 16],
    pub(crate) template: Template,
    /// The handles not yet returned, in ascending order.
    pub(crate) remaining: Vec<Handle>,
}
