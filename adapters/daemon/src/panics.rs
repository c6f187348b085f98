//! Panics of the stack, caught around each request: a bug in the stack
//! costs the request it hit an error answer, not the daemon.
//!
//! [`catch`] runs a closure under [`std::panic::catch_unwind`]. While it
//! runs, the panic hook that [`install_hook`] puts in front of the
//! process's own (once per process) keeps the panic's message, place and
//! backtrace (if `RUST_BACKTRACE` asks for one) for the daemon to log in
//! one line with the request it hit and what it did about it, instead of
//! printing "thread ... panicked" as for a crash. A panic anywhere else
//! (on another thread, or outside [`catch`]) goes to the hook there was.
//! A hook set after [`install_hook`] replaces it: the panic is then
//! printed by that hook, and still caught and logged.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{PanicHookInfo, UnwindSafe};
use std::sync::Once;

thread_local! {
    /// This thread runs in [`catch`]: the hook keeps the panic.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// What the hook kept of the last panic under [`catch`].
    static CAUGHT: RefCell<Option<Caught>> = const { RefCell::new(None) };
}

/// A panic caught by [`catch`]: what it said and where (its [`Display`](fmt::Display)), and
/// how it got there (see [`Caught::log`]).
#[derive(Debug)]
pub struct Caught {
    /// The panic's message (its payload, if text).
    pub message: String,
    /// `file:line:column` of the panic, if the hook saw it.
    pub location: Option<String>,
    backtrace: Option<Backtrace>,
}

impl Caught {
    fn from_payload(payload: &(dyn Any + Send)) -> Self {
        Caught {
            message: message_of(payload),
            location: None,
            backtrace: None,
        }
    }

    fn from_hook(info: &PanicHookInfo<'_>) -> Self {
        Caught {
            message: message_of(info.payload()),
            location: info.location().map(ToString::to_string),
            backtrace: Some(Backtrace::capture()),
        }
    }

    /// Prints `line` (which should say what the panic hit, with this
    /// [`Caught`] displayed, and what was done) on standard error, and the
    /// backtrace after it if one was captured.
    pub fn log(&self, line: &str) {
        match self
            .backtrace
            .as_ref()
            .filter(|b| b.status() == BacktraceStatus::Captured)
        {
            Some(bt) => eprintln!("{line}\nstack backtrace:\n{bt}"),
            None => eprintln!("{line}"),
        }
    }
}

impl fmt::Display for Caught {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.message)?;
        if let Some(at) = &self.location {
            write!(f, " at {at}")?;
        }
        Ok(())
    }
}

fn message_of(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// Puts the daemon's panic hook in front of the process's (once; later
/// calls do nothing). See the [module](self).
pub fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                return previous(info);
            }
            // A panic in the hook itself would abort: the slot is only
            // borrowed if free (it always is: nothing else holds it
            // across a call).
            CAUGHT.with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = Some(Caught::from_hook(info));
                }
            });
        }));
    });
}

/// Runs `f`, catching a panic: `Err` says what it was (see the
/// [module](self)). Whether what `f` touched can still be used after a
/// panic is the caller's to judge (the reason for its `UnwindSafe`).
pub fn catch<R>(f: impl FnOnce() -> R + UnwindSafe) -> Result<R, Caught> {
    let outer = CATCHING.with(|c| c.replace(true));
    let result = std::panic::catch_unwind(f);
    CATCHING.with(|c| c.set(outer));
    result.map_err(|payload| {
        let kept = CAUGHT.with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()));
        kept.unwrap_or_else(|| Caught::from_payload(&*payload))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_says_what_and_where() {
        install_hook();
        assert_eq!(catch(|| 7).unwrap(), 7);
        let caught = catch(|| -> u32 { panic!("bad {}", 42) }).unwrap_err();
        assert_eq!(caught.message, "bad 42");
        let at = caught.location.as_deref().expect("the hook saw where");
        assert!(at.starts_with(file!()), "{at}");
        assert!(caught.to_string().starts_with("'bad 42' at "), "{caught}");
        // Nested: the inner panic is the inner catch's; the outer runs on.
        let outer = catch(|| {
            let inner = catch(|| panic!("inner")).unwrap_err();
            assert_eq!(inner.message, "inner");
            panic!("outer")
        });
        assert_eq!(outer.unwrap_err().message, "outer");
    }

    #[test]
    fn a_panic_outside_catch_is_not_kept() {
        install_hook();
        std::thread::spawn(|| {
            // Caught, but not by `catch`: the hook there was prints it.
            let plain = std::panic::catch_unwind(|| panic!("not ours"));
            assert!(plain.is_err());
            assert!(CAUGHT.with(|s| s.borrow().is_none()), "kept for nobody");
        })
        .join()
        .unwrap();
    }
}
