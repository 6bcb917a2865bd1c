//! A layer's bytes received into memory up to a bound: a registry that sends more than the
//! manifest declared (or than we accept) is cut off, not read to the end.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

/// Bytes written, refused past `limit`.
pub(super) struct Bounded {
    data: Vec<u8>,
    limit: u64,
}

impl Bounded {
    pub(super) fn new(limit: u64) -> Self {
        Self {
            data: Vec::new(),
            limit,
        }
    }

    pub(super) fn into_inner(self) -> Vec<u8> {
        self.data
    }
}

impl AsyncWrite for Bounded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let total = self.data.len() as u64 + bytes.len() as u64;
        if total > self.limit {
            return Poll::Ready(Err(io::Error::other(format!(
                "the registry sent more than the layer's declared {} bytes",
                self.limit
            ))));
        }
        self.data.extend_from_slice(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_past_the_limit_are_refused() {
        let waker = std::task::Waker::noop();
        let mut context = Context::from_waker(waker);
        let mut bounded = Bounded::new(5);
        let mut pinned = Pin::new(&mut bounded);
        assert!(matches!(
            pinned.as_mut().poll_write(&mut context, b"abc"),
            Poll::Ready(Ok(3))
        ));
        assert!(matches!(
            pinned.as_mut().poll_write(&mut context, b"def"),
            Poll::Ready(Err(_))
        ));
        assert!(matches!(
            pinned.as_mut().poll_write(&mut context, b"de"),
            Poll::Ready(Ok(2))
        ));
        assert_eq!(bounded.into_inner(), b"abcde");
    }
}
