//! Response decoding, as the client does it. The first 2 bytes of the input choose the opcode
//! the response answers (big-endian, modulo the number of opcodes); the rest is the body.
//! A decoded response must encode and decode to itself, so the decoder accepts nothing the
//! encoder refuses (an `Ok` without request id, an approved decoding status).

#![no_main]

use ihsm_proto::{frame, Limits, Opcode, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((selector, body)) = input.split_first_chunk::<2>() else {
        return;
    };
    let opcode = Opcode::ALL[usize::from(u16::from_be_bytes(*selector)) % Opcode::ALL.len()];
    if let Ok(response) = Response::decode(body, opcode) {
        let limits = Limits::new(frame::MAX_MAX_FRAME_LEN).expect("the largest limit is valid");
        let frame = response
            .encode_frame(&limits)
            .expect("a decoded response fits a frame");
        let again = Response::decode_frame(&frame, opcode, &limits).expect("re-encoding decodes");
        assert_eq!(again, response);
    }
});
