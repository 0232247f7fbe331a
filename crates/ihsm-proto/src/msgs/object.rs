//! Object messages: create, copy, destroy, attributes, search.

use crate::{
    AttributeReading, AttributeTypes, Cursor, FindCount, Handle, List, Template, MAX_FIND_COUNT,
    MAX_TEMPLATE_LEN,
};

wire_map! {
    /// Creates an object (a data object, certificate, public key, or - with test hooks -
    /// a key given in plaintext).
    pub struct CreateObjectRequest {
        /// The object's attributes.
        0 => template: Template,
    }
}

wire_map! {
    /// The new object.
    pub struct CreateObjectResponse {
        /// Its handle.
        0 => handle: Handle,
    }
}

wire_map! {
    /// Copies an object, changing the attributes the template gives.
    pub struct CopyObjectRequest {
        /// The object to copy.
        0 => handle: Handle,
        /// Attributes that differ in the copy.
        1 => template: Template,
    }
}

wire_map! {
    /// The copy.
    pub struct CopyObjectResponse {
        /// Its handle.
        0 => handle: Handle,
    }
}

wire_map! {
    /// Destroys an object.
    pub struct DestroyObjectRequest {
        /// The object.
        0 => handle: Handle,
    }
}

wire_map! {
    /// The object is destroyed.
    pub struct DestroyObjectResponse {}
}

wire_map! {
    /// Reads attributes of an object.
    pub struct GetAttributesRequest {
        /// The object.
        0 => handle: Handle,
        /// The attribute types to read, each at most once.
        1 => types: AttributeTypes,
    }
}

wire_map! {
    /// One reading per type asked for, in the order asked.
    pub struct GetAttributesResponse {
        /// The readings.
        0 => values: List<AttributeReading, MAX_TEMPLATE_LEN>,
    }
}

wire_map! {
    /// Changes attributes of an object.
    pub struct SetAttributesRequest {
        /// The object.
        0 => handle: Handle,
        /// The new values.
        1 => template: Template,
    }
}

wire_map! {
    /// The attributes are changed.
    pub struct SetAttributesResponse {}
}

wire_map! {
    /// Finds the objects whose attributes equal every attribute of the template.
    pub struct FindObjectsRequest {
        /// The attributes to match; empty matches every visible object.
        0 => template: Template,
        /// The cursor of the previous page; absent for the first page.
        1 => cursor: Option<Cursor>,
        /// The most handles to return.
        2 => max_count: FindCount,
    }
}

wire_map! {
    /// A page of handles.
    pub struct FindObjectsResponse {
        /// At most `max_count` handles.
        0 => handles: List<Handle, MAX_FIND_COUNT>,
        /// The cursor of the next page; absent after the last page.
        1 => next_cursor: Option<Cursor>,
    }
}
