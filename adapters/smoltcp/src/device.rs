//! The device as the link's state lets it work: frames pass only while the
//! link is up, frames longer than the link's MTU are not sent, and every
//! frame is counted for `IFLA_STATS64`.

use std::cell::Cell;

use smoltcp::phy::{self, Device, DeviceCapabilities, PacketMeta};
use smoltcp::time::Instant;
use smoltcp::wire::EthernetFrame;

/// The Ethernet header smoltcp counts in a device's MTU.
pub(crate) const ETHERNET_HEADER: usize = 14;

/// How many waiting frames one [`Device::receive`] call throws away while
/// the link is down (a bound, so that a device that never runs dry cannot
/// hold the poll loop).
const DRAIN_PER_CALL: usize = 64;

/// Packet and byte counters, as the kernel keeps them per link.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub rx_packets: Cell<u64>,
    pub rx_bytes: Cell<u64>,
    pub rx_dropped: Cell<u64>,
    pub tx_packets: Cell<u64>,
    pub tx_bytes: Cell<u64>,
    pub tx_dropped: Cell<u64>,
}

fn bump(c: &Cell<u64>, by: usize) {
    c.set(c.get().wrapping_add(by as u64));
}

/// A smoltcp [`Device`] wrapped so that the link state the adapter keeps
/// applies to it: while the link is down (`ip link set dev down`) nothing
/// is received (frames waiting in the device are read and dropped, as a
/// NIC that is down drops them) and nothing is sent; frames longer than the
/// link's MTU plus the Ethernet header are not sent (counted as
/// `tx_dropped`). Every frame that passes is counted.
///
/// [`SmolStack`](crate::SmolStack) owns one and polls its interface
/// with it; reach the wrapped device with [`LinkDevice::inner`] (for its
/// file descriptor, say).
#[derive(Debug)]
pub struct LinkDevice<D> {
    inner: D,
    up: bool,
    /// The link's MTU (IP bytes, without the Ethernet header).
    mtu: usize,
    counters: Counters,
}

impl<D: Device> LinkDevice<D> {
    /// Wraps `inner`, down, with the MTU it reports.
    pub(crate) fn new(inner: D) -> Self {
        let mtu = inner
            .capabilities()
            .max_transmission_unit
            .saturating_sub(ETHERNET_HEADER);
        LinkDevice {
            inner,
            up: false,
            mtu,
            counters: Counters::default(),
        }
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutable (frames sent or received through it
    /// directly bypass the link's state and counters).
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// True while frames pass (the link is up).
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// The MTU frames are held to, in IP bytes (the Ethernet header not
    /// counted).
    pub fn mtu(&self) -> usize {
        self.mtu
    }

    pub(crate) fn set_up(&mut self, up: bool) {
        self.up = up;
    }

    pub(crate) fn set_mtu(&mut self, mtu: usize) {
        self.mtu = mtu;
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(crate) fn into_inner(self) -> D {
        self.inner
    }
}

impl<D: Device> Device for LinkDevice<D> {
    type RxToken<'a>
        = RxToken<'a, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let LinkDevice {
            inner,
            up,
            mtu,
            counters,
        } = self;
        if !*up {
            for _ in 0..DRAIN_PER_CALL {
                let Some((rx, _)) = inner.receive(timestamp) else {
                    break;
                };
                phy::RxToken::consume(rx, |_| bump(&counters.rx_dropped, 1));
            }
            return None;
        }
        let max_frame = mtu.saturating_add(ETHERNET_HEADER);
        let (rx, tx) = inner.receive(timestamp)?;
        Some((
            RxToken {
                inner: rx,
                counters,
            },
            TxToken {
                inner: tx,
                counters,
                max_frame,
            },
        ))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        if !self.up {
            return None;
        }
        let max_frame = self.mtu.saturating_add(ETHERNET_HEADER);
        let tx = self.inner.transmit(timestamp)?;
        Some(TxToken {
            inner: tx,
            counters: &self.counters,
            max_frame,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = self.inner.capabilities();
        let frame = self
            .mtu
            .saturating_add(EthernetFrame::<&[u8]>::header_len());
        caps.max_transmission_unit = caps.max_transmission_unit.min(frame);
        caps
    }
}

/// A received frame, counted when smoltcp reads it.
#[doc(hidden)]
pub struct RxToken<'a, T> {
    inner: T,
    counters: &'a Counters,
}

impl<T: phy::RxToken> phy::RxToken for RxToken<'_, T> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        let counters = self.counters;
        self.inner.consume(|frame| {
            bump(&counters.rx_packets, 1);
            bump(&counters.rx_bytes, frame.len());
            f(frame)
        })
    }

    fn meta(&self) -> PacketMeta {
        self.inner.meta()
    }
}

/// A frame to send: passed on if it fits the link's MTU, else dropped.
#[doc(hidden)]
pub struct TxToken<'a, T> {
    inner: T,
    counters: &'a Counters,
    max_frame: usize,
}

impl<T: phy::TxToken> phy::TxToken for TxToken<'_, T> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        if len > self.max_frame {
            // Written (smoltcp needs its result) but never sent, as a
            // frame above the MTU never reaches the wire.
            let mut scratch = vec![0u8; len];
            bump(&self.counters.tx_dropped, 1);
            return f(&mut scratch);
        }
        bump(&self.counters.tx_packets, 1);
        bump(&self.counters.tx_bytes, len);
        self.inner.consume(len, f)
    }

    fn set_meta(&mut self, meta: PacketMeta) {
        self.inner.set_meta(meta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::{Loopback, Medium, RxToken as _, TxToken as _};

    fn send(d: &mut LinkDevice<Loopback>, len: usize) -> bool {
        match d.transmit(Instant::ZERO) {
            Some(tx) => {
                tx.consume(len, |b| b.fill(0xab));
                true
            }
            None => false,
        }
    }

    fn recv(d: &mut LinkDevice<Loopback>) -> Option<usize> {
        let (rx, _) = d.receive(Instant::ZERO)?;
        Some(rx.consume(|b| b.len()))
    }

    #[test]
    fn a_down_link_neither_sends_nor_receives() {
        let mut d = LinkDevice::new(Loopback::new(Medium::Ethernet));
        assert!(!send(&mut d, 60));
        // A frame already waiting in the device is read and dropped.
        if let Some(tx) = d.inner_mut().transmit(Instant::ZERO) {
            tx.consume(60, |_| ());
        }
        assert_eq!(recv(&mut d), None);
        assert_eq!(d.counters().rx_dropped.get(), 1);
        d.set_up(true);
        assert_eq!(recv(&mut d), None, "the dropped frame is gone");
        assert!(send(&mut d, 60));
        assert_eq!(recv(&mut d), Some(60));
        assert_eq!(d.counters().tx_packets.get(), 1);
        assert_eq!(d.counters().rx_bytes.get(), 60);
    }

    #[test]
    fn frames_above_the_mtu_are_not_sent() {
        let mut d = LinkDevice::new(Loopback::new(Medium::Ethernet));
        d.set_up(true);
        d.set_mtu(1500);
        assert_eq!(d.capabilities().max_transmission_unit, 1514);
        assert!(send(&mut d, 1515));
        assert_eq!(recv(&mut d), None);
        assert_eq!(d.counters().tx_dropped.get(), 1);
        assert!(send(&mut d, 1514));
        assert_eq!(recv(&mut d), Some(1514));
    }
}
