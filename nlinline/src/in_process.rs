//! An nlq server in this process, shared by many clients and threads:
//! the transport behind [`Handle::in_process`](crate::Handle::in_process).
//!
//! The server itself (`nlq::server::Server`) has no threads, no clock and
//! no locks; this is the part that adds them: a mutex around the server, a
//! condition variable for readers that wait, a connection per client.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nlq::errno::Errno;
use nlq::server::{ConnId, Datagram, Server, SockOpt};
use nlq::stack::{Event, Stack};

/// A thread-safe handle to a [`Server`]: clone it freely, give each client
/// its own [`Client`] connection. Notifications fan out to every client.
#[derive(Debug)]
pub struct Shared<S> {
    inner: Arc<(Mutex<Server<S>>, Condvar)>,
}

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Shared {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: Stack> Shared<S> {
    /// A shared server over `stack`.
    pub fn new(stack: S) -> Self {
        Shared::from_server(Server::new(stack))
    }

    /// Shares an existing server.
    pub fn from_server(server: Server<S>) -> Self {
        Shared {
            inner: Arc::new((Mutex::new(server), Condvar::new())),
        }
    }

    /// Locks the server (a poisoned lock is taken over: the server's state
    /// stays consistent between calls).
    pub fn lock(&self) -> MutexGuard<'_, Server<S>> {
        self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the locked server, then wakes the readers.
    pub fn with<R>(&self, f: impl FnOnce(&mut Server<S>) -> R) -> R {
        let r = f(&mut self.lock());
        self.inner.1.notify_all();
        r
    }

    /// Opens a connection.
    pub fn connect(&self) -> Client<S> {
        let id = self.with(|s| s.connect());
        Client {
            shared: self.clone(),
            id,
        }
    }

    /// Reports a change the stack made on its own (see [`Server::notify`](nlq::server::Server::notify)).
    pub fn notify(&self, event: Event<'_>) {
        self.with(|s| s.notify(event));
    }
}

/// One client's connection to a [`Shared`] server; closed when dropped.
#[derive(Debug)]
pub struct Client<S: Stack> {
    shared: Shared<S>,
    id: ConnId,
}

impl<S: Stack> Client<S> {
    /// The connection's id in the server.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The server this client talks to.
    pub fn shared(&self) -> &Shared<S> {
        &self.shared
    }

    /// The port id.
    pub fn port(&self) -> u32 {
        self.shared.lock().port(self.id)
    }

    /// `bind(2)` (see [`Server::bind`](nlq::server::Server::bind)).
    pub fn bind(&self, port: u32, groups: u32) -> Result<(), Errno> {
        self.shared.with(|s| s.bind(self.id, port, groups))
    }

    /// Sets a socket option.
    pub fn set_option(&self, opt: SockOpt) -> Result<(), Errno> {
        self.shared.with(|s| s.set_option(self.id, opt))
    }

    /// Sends one datagram of requests.
    pub fn send(&self, datagram: &[u8]) {
        self.shared.with(|s| s.handle_datagram(self.id, datagram));
    }

    /// The next datagram, if one is ready (see [`Server::next_datagram`](nlq::server::Server::next_datagram)).
    pub fn try_recv(&self, max: usize) -> Result<Option<Datagram>, Errno> {
        self.shared.lock().next_datagram(self.id, max)
    }

    /// The next datagram, waiting up to `timeout` for one (another client's
    /// change may bring a notification). `Ok(None)` when none came in time.
    pub fn recv_timeout(&self, max: usize, timeout: Duration) -> Result<Option<Datagram>, Errno> {
        let deadline = Instant::now().checked_add(timeout);
        let mut server = self.shared.lock();
        loop {
            if let Some(d) = server.next_datagram(self.id, max)? {
                return Ok(Some(d));
            }
            let left = deadline.map_or(timeout, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return Ok(None);
            }
            server = self
                .shared
                .inner
                .1
                .wait_timeout(server, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

impl<S: Stack> Drop for Client<S> {
    fn drop(&mut self) {
        self.shared.with(|s| s.disconnect(self.id));
    }
}
