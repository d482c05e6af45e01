//! Unit tests of the transport wrappers.

use super::*;

/// A transport that records what it was asked to send, and reads `reply` when asked for input.
#[derive(Debug)]
struct Recorder {
    buffers: LazyBuffers,
    sent: Vec<Vec<u8>>,
    /// What had been sent when each read started.
    sent_before_read: Vec<usize>,
    reply: &'static [u8],
}

impl Transport for Recorder {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, _: NextTimeout) -> Result<(), ureq::Error> {
        let bytes = self.buffers.output()[..amount].to_vec();
        self.sent.push(bytes);
        Ok(())
    }

    fn await_input(&mut self, _: NextTimeout) -> Result<bool, ureq::Error> {
        self.sent_before_read
            .push(self.sent.iter().map(Vec::len).sum());
        let reply = std::mem::take(&mut self.reply);
        self.buffers.input_append_buf()[..reply.len()].copy_from_slice(reply);
        self.buffers.input_appended(reply.len());
        Ok(!reply.is_empty())
    }

    fn is_open(&mut self) -> bool {
        true
    }
}

fn coalesced(output_size: usize) -> Coalesced<Recorder> {
    let recorder = Recorder {
        buffers: LazyBuffers::new(1024, output_size),
        sent: Vec::new(),
        sent_before_read: Vec::new(),
        reply: b"HTTP/1.1 200 OK\r\n\r\n",
    };
    Coalesced::new(recorder, 1024)
}

/// Writes `bytes` the way ureq's TLS adapter does: copy into `output()`, then transmit.
fn write(t: &mut Coalesced<Recorder>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let output = t.buffers().output();
        let n = bytes.len().min(output.len());
        assert!(n > 0, "no room to write into");
        output[..n].copy_from_slice(&bytes[..n]);
        t.transmit_output(n, NextTimeout::default()).unwrap();
        bytes = &bytes[n..];
    }
}

#[test]
fn records_are_gathered_into_writes_of_the_whole_buffer() {
    let mut t = coalesced(100);
    for record in 0..7u8 {
        write(&mut t, &[record; 30]);
    }
    let sent = &t.inner.sent;
    assert_eq!(sent.iter().map(Vec::len).collect::<Vec<_>>(), [100, 100]);
    assert_eq!(&sent[0][..31], &[[0; 30].as_slice(), &[1]].concat()[..]);
    assert_eq!(t.held, 10);
}

#[test]
fn a_small_request_is_sent_before_any_wait_for_input() {
    for wait in ["await_input", "maybe_await_input"] {
        let mut t = coalesced(1 << 17);
        let head = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n";
        write(&mut t, head);
        assert!(t.inner.sent.is_empty(), "held while nothing waits");
        let read = match wait {
            "await_input" => t.await_input(NextTimeout::default()),
            // The default, as ureq's `Box` calls it.
            _ => t.maybe_await_input(NextTimeout::default()),
        };
        assert!(read.unwrap());
        assert_eq!(t.inner.sent_before_read, [head.len()], "{wait}");
        assert_eq!(t.input(), b"HTTP/1.1 200 OK\r\n\r\n");
    }
}

#[test]
fn nothing_held_is_left_behind_by_the_reuse_check() {
    let mut t = coalesced(1 << 17);
    write(&mut t, b"alert");
    assert!(t.is_open());
    assert_eq!(t.inner.sent, [b"alert".to_vec()]);
}
