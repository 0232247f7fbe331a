//! Request decoding, as the server does it: any body must decode or be refused, never panic.
//! A decoded request must encode back to the same bytes (the encoding is canonical, and a
//! decoder that accepts non-shortest forms still yields the same value).

#![no_main]

use ihsm_proto::{frame, Limits, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(request) = Request::decode(body) {
        let limits = Limits::new(frame::MAX_MAX_FRAME_LEN).expect("the largest limit is valid");
        let frame = request
            .encode_frame(&limits)
            .expect("a decoded request fits a frame");
        let again = Request::decode_frame(&frame, &limits).expect("re-encoding decodes");
        assert_eq!(again, request);
    }
});
