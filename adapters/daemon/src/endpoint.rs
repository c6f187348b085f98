//! Fresh daemons for the conformance kit (`nlq-conformance`), so that
//! every check runs through the socket protocol.
//!
//! A [`DaemonEndpoint`] is a daemon over a fresh stack on a socket of its
//! own; its connections are [`SocketClient`]s, `nlinline` transports. The
//! kit wants every answer to a request (and every notification it causes
//! on other connections) readable as soon as the request is sent; over
//! sockets answers come later, so the kit's `Settled` endpoint puts a
//! barrier on every connection after each request:
//!
//! ```ignore
//! use nlq_conformance::{Endpoint, Settled, Setup};
//! use nlq_daemon::{client::SocketClient, endpoint::DaemonEndpoint};
//!
//! struct Daemon(DaemonEndpoint<nlq_mem::MemStack>);
//!
//! impl Endpoint for Daemon {
//!     type Socket = SocketClient;
//!     fn connect(&mut self) -> std::io::Result<SocketClient> {
//!         self.0.connect()
//!     }
//! }
//!
//! let report = nlq_conformance::run_on(&Setup::create_link("dummy"), || {
//!     let daemon = DaemonEndpoint::spawn(nlq_mem::MemStack::new()).map_err(|e| e.to_string())?;
//!     Ok(Settled::new(Daemon(daemon)))
//! });
//! assert!(report.is_ok(), "{report}");
//! ```

use std::io;
use std::path::{Path, PathBuf};

use nlq::stack::Stack;

use crate::client::SocketClient;
use crate::daemon::{Daemon, DaemonHandle, Options};

/// A daemon over a fresh stack, on a socket in a new temporary directory
/// (see the [module](self)). Both go when it is dropped.
#[derive(Debug)]
pub struct DaemonEndpoint<S: Stack + Send + 'static> {
    path: PathBuf,
    _daemon: DaemonHandle<S>,
    _dir: crate::testing::TempDir,
}

impl<S: Stack + Send + 'static> DaemonEndpoint<S> {
    /// A fresh daemon over `stack`.
    pub fn spawn(stack: S) -> io::Result<Self> {
        let dir = crate::testing::TempDir::new("endpoint");
        let path = dir.path().join("nlq.sock");
        let daemon = Daemon::bind(&path, stack, Options::default())?.spawn()?;
        Ok(DaemonEndpoint {
            path,
            _daemon: daemon,
            _dir: dir,
        })
    }

    /// The daemon's socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new connection, as `socket(2)` makes one (no option set).
    pub fn connect(&self) -> io::Result<SocketClient> {
        SocketClient::connect(&self.path)
    }
}
