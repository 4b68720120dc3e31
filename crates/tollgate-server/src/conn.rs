//! The hub's accept loop: HTTP/1 connections with a header-read timeout, an idle timeout, a
//! request timeout and a cap on open connections, so clients that send half a request (or
//! nothing) cannot hold file descriptors for long. `axum::serve` offers none of these.

use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt as _;

/// How long a client may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From accepting a connection (or from the first byte of a later request on a kept-alive
    /// one) until the request's whole head — request line and headers — has arrived.
    pub header_timeout: Duration,
    /// A connection with no request in progress on which no byte moves either way for this long
    /// is closed: kept-alive connections nobody uses, and clients that stop reading a response.
    pub idle_timeout: Duration,
    /// From a complete request head until the handler's answer (reading the body included):
    /// past it the client gets 503 `{"detail": …}`.
    pub request_timeout: Duration,
    /// Connections open at once; past it new ones wait in the listen backlog.
    pub max_open: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(300),
            max_open: 1024,
        }
    }
}

/// Accepts connections until `shutdown` resolves, then lets each open one finish its request
/// in flight (idle ones close at once) and returns when all are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    // Bounded so the drain below can ask for every permit at once (it takes a u32).
    let max_open = limits
        .max_open
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let permits = Arc::new(Semaphore::new(max_open));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // A permit first: at the cap, connections wait in the kernel's backlog, unread.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let tcp = tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Responses go out as soon as they are written: with Nagle's algorithm a page's last
        // partial segment waited for the client's delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            connection(tcp, app, limits, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every permit back: every connection closed.
    let _ = permits.acquire_many(max_open as u32).await;
}

/// When bytes last moved on a connection and what it is doing, for its watchdog.
struct Clock {
    start: Instant,
    /// Milliseconds since `start` of the last byte read or written.
    last_io: AtomicU64,
    /// Milliseconds since `start` (plus one; 0 = none) since a request head is awaited.
    head_since: AtomicU64,
    /// Requests handed to the router and not yet answered.
    in_flight: AtomicUsize,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            start: Instant::now(),
            last_io: AtomicU64::new(0),
            // The first request's head is due from the moment of accepting.
            head_since: AtomicU64::new(1),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn read(&self) {
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let _ =
                self.head_since
                    .compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
    }

    /// The moment this connection is due to be cut if nothing changes, or `None` now.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        let at = |ms: u64, d: Duration| self.start + Duration::from_millis(ms) + d;
        if self.in_flight.load(Ordering::Acquire) > 0 {
            // The request timeout answers for it; look again later.
            return Some(Instant::now() + limits.idle_timeout.min(limits.header_timeout));
        }
        let idle = at(self.last_io.load(Ordering::Relaxed), limits.idle_timeout);
        let deadline = match self.head_since.load(Ordering::Acquire) {
            0 => idle,
            since => idle.min(at(since - 1, limits.header_timeout)),
        };
        (deadline > Instant::now()).then_some(deadline)
    }
}

/// Counts a request in flight while it lives.
struct InFlight(Arc<Clock>);

impl InFlight {
    fn begin(clock: &Arc<Clock>) -> InFlight {
        clock.in_flight.fetch_add(1, Ordering::AcqRel);
        clock.head_since.store(0, Ordering::Release);
        InFlight(clock.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.wrote();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn connection(
    tcp: TcpStream,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let clock = Arc::new(Clock::new());
    let io = TokioIo::new(Watched {
        inner: tcp,
        clock: clock.clone(),
    });
    let service_clock = clock.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let app = app.clone();
        let busy = InFlight::begin(&service_clock);
        let limit = limits.request_timeout;
        async move {
            let answer = tokio::time::timeout(limit, app.oneshot(req)).await;
            drop(busy);
            Ok::<_, std::convert::Infallible>(match answer {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the request took longer than {} s (the hub's --request-timeout)",
                        limit.as_secs_f64()
                    ),
                )
                .into_response(),
            })
        }
    });
    // Hyper's own header timeout is off: it would also cut kept-alive connections waiting for
    // their next request, which the (longer) idle timeout governs here.
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let Some(deadline) = clock.deadline(&limits) else {
            tracing::debug!("closing a connection past its header or idle timeout");
            return;
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(deadline.into()) => {}
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// A TCP stream that tells its [`Clock`] when bytes move.
struct Watched {
    inner: TcpStream,
    clock: Arc<Clock>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.read();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
