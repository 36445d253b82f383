//! The request-response codec the three protocol families share.
//!
//! A request is ONE CBOR item read off the stream as soon as it is complete:
//! Go clients write the request and then wait for the answer, closing their
//! side only afterwards, so reading to end-of-stream would deadlock. The
//! item is bounded in size ([`ItemScanner`] refuses a header that claims more
//! than the limit before its bytes arrive) and in time (Boost's 10 s read
//! deadline). The response is written raw — cbor-gen's `WriteCborRPC` adds no
//! length prefix — under Boost's 10 s write deadline, after which
//! request-response closes the stream.
//!
//! `/fil/retrieval/transports/1.0.0` has no request at all (Boost's and
//! Curio's handlers write as soon as the stream opens; their client only
//! reads), so for it reading and writing the request are no-ops
//! ([`Exchange::HAS_REQUEST`]).

use std::io;
use std::marker::PhantomData;
use std::time::Duration;

use async_trait::async_trait;
use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{MkVersion, limits};
use crate::wire::{
    AskRequest, AskResponse, DealParams, DealResponse, DealStatusRequest, DealStatusResponse,
    ItemScanner, QueryResponse, WireError, WireMessage,
};

/// One protocol family: its message types, size limits and (de)coding.
pub(crate) trait Exchange: Send + Sync + 'static {
    type Request: Send;
    type Response: Send;
    /// Whether the client writes a request. When false, reading the
    /// request consumes no bytes and `decode_request` gets an empty slice.
    const HAS_REQUEST: bool = true;
    const MAX_REQUEST: usize;
    const MAX_RESPONSE: usize;
    fn decode_request(protocol: &StreamProtocol, bytes: &[u8]) -> Result<Self::Request, WireError>;
    fn encode_request(req: &Self::Request) -> Result<Vec<u8>, WireError>;
    fn decode_response(
        protocol: &StreamProtocol,
        bytes: &[u8],
    ) -> Result<Self::Response, WireError>;
    fn encode_response(resp: &Self::Response) -> Result<Vec<u8>, WireError>;
}

/// A proposal with the protocol version it came over (inbound); outbound
/// the version is ignored, since negotiation picks it.
#[derive(Debug)]
pub(crate) struct Proposal {
    pub(crate) version: MkVersion,
    pub(crate) params: DealParams,
}

/// A deal response with the version the stream negotiated (outbound).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) version: MkVersion,
    pub(crate) response: DealResponse,
}

/// `/fil/storage/mk/1.2.1` and `/1.2.0`.
#[derive(Debug)]
pub(crate) enum Mk {}

impl Exchange for Mk {
    type Request = Proposal;
    type Response = Answer;
    const MAX_REQUEST: usize = limits::MAX_PROPOSAL_BYTES;
    const MAX_RESPONSE: usize = limits::MAX_SMALL_MESSAGE_BYTES;

    fn decode_request(protocol: &StreamProtocol, bytes: &[u8]) -> Result<Proposal, WireError> {
        Ok(Proposal {
            version: MkVersion::from_protocol(protocol),
            params: DealParams::from_cbor(bytes)?,
        })
    }

    fn encode_request(req: &Proposal) -> Result<Vec<u8>, WireError> {
        req.params.to_cbor()
    }

    fn decode_response(protocol: &StreamProtocol, bytes: &[u8]) -> Result<Answer, WireError> {
        Ok(Answer {
            version: MkVersion::from_protocol(protocol),
            response: DealResponse::from_cbor(bytes)?,
        })
    }

    fn encode_response(resp: &Answer) -> Result<Vec<u8>, WireError> {
        resp.response.to_cbor()
    }
}

/// `/fil/storage/status/1.2.0`.
#[derive(Debug)]
pub(crate) enum Status {}

impl Exchange for Status {
    type Request = DealStatusRequest;
    type Response = DealStatusResponse;
    const MAX_REQUEST: usize = limits::MAX_SMALL_MESSAGE_BYTES;
    const MAX_RESPONSE: usize = limits::MAX_STATUS_RESPONSE_BYTES;

    fn decode_request(_: &StreamProtocol, bytes: &[u8]) -> Result<Self::Request, WireError> {
        DealStatusRequest::from_cbor(bytes)
    }

    fn encode_request(req: &Self::Request) -> Result<Vec<u8>, WireError> {
        req.to_cbor()
    }

    fn decode_response(_: &StreamProtocol, bytes: &[u8]) -> Result<Self::Response, WireError> {
        DealStatusResponse::from_cbor(bytes)
    }

    fn encode_response(resp: &Self::Response) -> Result<Vec<u8>, WireError> {
        resp.to_cbor()
    }
}

/// `/fil/storage/ask/1.1.0`.
#[derive(Debug)]
pub(crate) enum Ask {}

impl Exchange for Ask {
    type Request = AskRequest;
    type Response = AskResponse;
    const MAX_REQUEST: usize = limits::MAX_SMALL_MESSAGE_BYTES;
    const MAX_RESPONSE: usize = limits::MAX_SMALL_MESSAGE_BYTES;

    fn decode_request(_: &StreamProtocol, bytes: &[u8]) -> Result<Self::Request, WireError> {
        AskRequest::from_cbor(bytes)
    }

    fn encode_request(req: &Self::Request) -> Result<Vec<u8>, WireError> {
        req.to_cbor()
    }

    fn decode_response(_: &StreamProtocol, bytes: &[u8]) -> Result<Self::Response, WireError> {
        AskResponse::from_cbor(bytes)
    }

    fn encode_response(resp: &Self::Response) -> Result<Vec<u8>, WireError> {
        resp.to_cbor()
    }
}

/// `/fil/retrieval/transports/1.0.0`: nothing in, a [`QueryResponse`] out.
#[derive(Debug)]
pub(crate) enum Transports {}

impl Exchange for Transports {
    type Request = ();
    type Response = QueryResponse;
    const HAS_REQUEST: bool = false;
    const MAX_REQUEST: usize = 0;
    const MAX_RESPONSE: usize = limits::MAX_SMALL_MESSAGE_BYTES;

    fn decode_request(_: &StreamProtocol, _: &[u8]) -> Result<(), WireError> {
        Ok(())
    }

    fn encode_request((): &()) -> Result<Vec<u8>, WireError> {
        Ok(Vec::new())
    }

    fn decode_response(_: &StreamProtocol, bytes: &[u8]) -> Result<QueryResponse, WireError> {
        QueryResponse::from_cbor(bytes)
    }

    fn encode_response(resp: &QueryResponse) -> Result<Vec<u8>, WireError> {
        resp.to_cbor()
    }
}

/// The libp2p request-response codec for an [`Exchange`].
#[derive(Debug)]
pub(crate) struct Codec<E> {
    read_timeout: Duration,
    write_timeout: Duration,
    _exchange: PhantomData<fn() -> E>,
}

impl<E> Clone for Codec<E> {
    fn clone(&self) -> Self {
        Self {
            read_timeout: self.read_timeout,
            write_timeout: self.write_timeout,
            _exchange: PhantomData,
        }
    }
}

impl<E> Codec<E> {
    pub(crate) fn new(read_timeout: Duration, write_timeout: Duration) -> Self {
        Self {
            read_timeout,
            write_timeout,
            _exchange: PhantomData,
        }
    }

    async fn read<T: AsyncRead + Unpin + Send>(
        &self,
        io: &mut T,
        limit: usize,
        what: &str,
    ) -> io::Result<Vec<u8>> {
        tokio::time::timeout(self.read_timeout, read_item(io, limit))
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no complete {what} within {:?}", self.read_timeout),
                )
            })?
    }

    async fn write<T: AsyncWrite + Unpin + Send>(
        &self,
        io: &mut T,
        bytes: &[u8],
    ) -> io::Result<()> {
        let write = async {
            io.write_all(bytes).await?;
            io.flush().await
        };
        tokio::time::timeout(self.write_timeout, write)
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("write not done within {:?}", self.write_timeout),
                )
            })?
    }
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

#[async_trait]
impl<E: Exchange> libp2p::request_response::Codec for Codec<E> {
    type Protocol = StreamProtocol;
    type Request = E::Request;
    type Response = E::Response;

    async fn read_request<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<E::Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        if !E::HAS_REQUEST {
            return E::decode_request(protocol, &[]).map_err(invalid);
        }
        let bytes = self.read(io, E::MAX_REQUEST, "request").await?;
        E::decode_request(protocol, &bytes).map_err(invalid)
    }

    async fn read_response<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<E::Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = self.read(io, E::MAX_RESPONSE, "response").await?;
        E::decode_response(protocol, &bytes).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: E::Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        if !E::HAS_REQUEST {
            return Ok(());
        }
        let bytes = E::encode_request(&req).map_err(invalid)?;
        self.write(io, &bytes).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        resp: E::Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = E::encode_response(&resp).map_err(invalid)?;
        self.write(io, &bytes).await
    }
}

/// Reads until `io` has delivered one complete CBOR item of at most `limit`
/// bytes, and returns exactly that item. Never waits for end-of-stream.
pub(crate) async fn read_item<T: AsyncRead + Unpin>(
    io: &mut T,
    limit: usize,
) -> io::Result<Vec<u8>> {
    let mut scanner = ItemScanner::new(limit);
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        if let Some(len) = scanner.advance(&buf).map_err(invalid)? {
            // Bytes after the item (a misbehaving peer) are dropped: the
            // protocol has one request per stream.
            buf.truncate(len);
            return Ok(buf);
        }
        let room = limit.saturating_sub(buf.len()).clamp(1, chunk.len());
        let n = io.read(&mut chunk[..room]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("stream ended after {} bytes, inside a CBOR item", buf.len()),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// Hands out its bytes a few at a time and then, unlike a closed
    /// stream, never ends: a read past the item would hang.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            if self.pos >= self.data.len() {
                return Poll::Pending;
            }
            let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
            let start = self.pos;
            buf[..n].copy_from_slice(&self.data[start..start + n]);
            self.pos += n;
            Poll::Ready(Ok(n))
        }
    }

    #[tokio::test]
    async fn reads_one_item_without_waiting_for_eof() {
        let item = DealResponse::reject("no").to_cbor().unwrap();
        for step in 1..=item.len() {
            let mut io = Trickle {
                data: item.clone(),
                pos: 0,
                step,
            };
            let got = tokio::time::timeout(Duration::from_secs(5), read_item(&mut io, 1024))
                .await
                .expect("returned without EOF")
                .unwrap();
            assert_eq!(got, item, "step {step}");
        }
    }

    #[tokio::test]
    async fn eof_inside_an_item_and_oversized_items_fail() {
        let item = DealResponse::reject("no").to_cbor().unwrap();
        let mut short: &[u8] = &item[..item.len() - 1];
        let err = read_item(&mut short, 1024).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let mut big: &[u8] = &item;
        let err = read_item(&mut big, 8).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("limit"), "{err}");
    }
}
