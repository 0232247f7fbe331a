//! Request decoding, as the server does it: any body must decode or be refused, never panic.
//! A decoded request must encode back to the same bytes (the encoding is canonical, and a
//! decoder that accepts non-shortest forms still yields the same value). A refused request
//! must get an error response that encodes and that a client decodes.

#![no_main]

use ihsm_proto::{frame, Limits, Opcode, Request, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let limits = Limits::new(frame::MAX_MAX_FRAME_LEN).expect("the largest limit is valid");
    match Request::decode(body) {
        Ok(request) => {
            let frame = request
                .encode_frame(&limits)
                .expect("a decoded request fits a frame");
            let again = Request::decode_frame(&frame, &limits).expect("re-encoding decodes");
            assert_eq!(again, request);
        }
        Err(error) => {
            let response = error.response();
            let frame = response
                .encode_frame(&limits)
                .expect("an error response always encodes");
            let opcode = error.opcode.unwrap_or(Opcode::GetStatus);
            let again =
                Response::decode_frame(&frame, opcode, &limits).expect("an error response decodes");
            assert_eq!(again, response);
            assert_eq!(error.closes_connection(), response.request_id.is_none());
        }
    }
});
