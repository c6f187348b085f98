//! An "Internet of Threads" node: a process with its own TCP/IP stack
//! (smoltcp) on a TAP device, configured only through rtnetlink, with the
//! same nlinline calls that configure the kernel.
//!
//! The process makes a private network namespace and a TAP device in it,
//! `tap0`. The kernel's end of `tap0` is the "host side" (10.0.0.1/24, plus
//! 10.0.0.11 and 10.0.0.12, two gateways, and 192.0.2.1, an address outside
//! the node's prefix). The node's end is a smoltcp interface wrapped by
//! `nlq_smoltcp::SmolStack`, link `eth0`, served by an in-process nlq
//! server: it is brought up and given 10.0.0.2/24 over rtnetlink. Then,
//! while the node polls its stack and runs a TCP echo service on port 7,
//! the host side checks, and the example asserts:
//!
//! 1. the kernel pings 10.0.0.2 and gets a reply;
//! 2. the kernel opens a TCP connection to 10.0.0.2:7 and gets its bytes
//!    back;
//! 3. a route change over rtnetlink changes where the node's replies go.
//!    The kernel pings from 192.0.2.1: with no route, the node cannot
//!    answer; after `ip route add default via 10.0.0.11` over rtnetlink it
//!    answers through 10.0.0.11, after `ip route replace default via
//!    10.0.0.12` through 10.0.0.12. Which gateway the node sends through
//!    shows in the ARP requests it makes for it, captured on the host side
//!    of `tap0` (an `AF_PACKET` socket).
//!
//! Everything stays in the namespace. It needs root, or unprivileged user
//! namespaces, and `/dev/net/tun`; without them it says so and exits 0.
//!
//! `cargo run -p nlkit-examples --bin iot_node`

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;
use std::time::Duration;

use nlinline::in_process::{Client, Shared};
use nlinline::{Handle, Route};
use nlq_smoltcp::SmolStack;
use smoltcp::iface::{Config, SocketHandle, SocketSet};
use smoltcp::phy::{Medium, TunTapInterface};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::EthernetAddress;

/// The host side's address on `tap0`.
const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The node's address.
const NODE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Two gateways on the host side.
const GW_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 11);
const GW_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 12);
/// A host-side address outside the node's prefix.
const FAR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The node's MAC address.
const NODE_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
/// The echo service's port.
const ECHO_PORT: u16 = 7;
/// How long the host side waits for an answer.
const WAIT: Duration = Duration::from_secs(2);

type NodeStack = SmolStack<TunTapInterface>;

fn main() -> ExitCode {
    let tap = match enter_namespace() {
        Ok(tap) => tap,
        Err(why) => {
            println!("iot_node: skipped: {why}");
            return ExitCode::SUCCESS;
        }
    };
    match run(tap) {
        Ok(()) => {
            println!("iot_node: all checks passed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("iot_node: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Moves the process into a fresh network namespace (every thread made
/// afterwards is in it too) and makes the TAP device `tap0` there, or says
/// what is missing.
fn enter_namespace() -> Result<TunTapInterface, String> {
    const NEEDS: &str = "needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN, or unprivileged \
                         user namespaces with access to /dev/net/tun)";
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Err("needs /dev/net/tun (the tun module)".into());
    }
    nlinline::sandbox::enter().map_err(|e| format!("{NEEDS}: a network namespace: {e}"))?;
    // The node reads and writes the frames of `tap0`; the kernel sees them
    // on its end of it.
    TunTapInterface::new("tap0", Medium::Ethernet).map_err(|e| match e.kind() {
        io::ErrorKind::PermissionDenied => format!("{NEEDS}: /dev/net/tun: {e}"),
        _ => format!("tap0: {e}"),
    })
}

/// What the host side asks the node to do over rtnetlink.
enum Command {
    /// `ip route add default via GW` (or `replace` when asked).
    DefaultVia { gateway: Ipv4Addr, replace: bool },
}

/// An answer: the result of a command, as text for the host side.
type Answer = Result<(), String>;

fn run(tap: TunTapInterface) -> Result<(), String> {
    host_setup().map_err(|e| format!("host side: {e}"))?;

    // The node: a smoltcp interface behind nlq, configured only through
    // rtnetlink.
    let config = Config::new(EthernetAddress(NODE_MAC).into());
    let stack = SmolStack::new(tap, config, Instant::now(), "eth0", 2)
        .map_err(|e| format!("smoltcp stack: {e}"))?;
    let shared = Shared::new(stack);
    let mut netlink = Handle::in_process(&shared);
    netlink
        .link_set_up("eth0", true)
        .map_err(|e| e.to_string())?;
    let eth0 = netlink.if_nametoindex("eth0").map_err(|e| e.to_string())?;
    netlink
        .addr_add(IpAddr::V4(NODE), 24, eth0)
        .map_err(|e| e.to_string())?;
    show(&mut netlink)?;

    // The host side acts from a thread of its own (in the namespace too);
    // the node keeps polling its stack meanwhile.
    let (commands, requests) = mpsc::channel::<(Command, Sender<Answer>)>();
    let host = thread::spawn(move || host_checks(&commands));
    node_loop(&shared, &mut netlink, &requests)?;
    host.join()
        .map_err(|_| "the host side panicked".to_string())?
}

/// The host side: `lo` and `tap0` up, its addresses on `tap0`.
fn host_setup() -> nlinline::Result<()> {
    let mut k = Handle::kernel()?;
    k.link_set_up("lo", true)?;
    k.link_set_up("tap0", true)?;
    let tap0 = k.if_nametoindex("tap0")?;
    for (ip, len) in [(HOST, 24), (GW_A, 24), (GW_B, 24), (FAR, 32)] {
        k.addr_add(IpAddr::V4(ip), len, tap0)?;
    }
    Ok(())
}

/// Prints the node's configuration as `ip addr` and `ip route` would,
/// read back over rtnetlink.
fn show(netlink: &mut Handle<Client<NodeStack>>) -> Result<(), String> {
    for a in netlink
        .addrs(nlq::wire::consts::AF_INET)
        .map_err(|e| e.to_string())?
    {
        if let Some(ip) = a.local.or(a.address) {
            println!(
                "node: addr {ip}/{} dev {}",
                a.header.prefix_len, a.header.index
            );
        }
    }
    let routes = netlink
        .routes(
            nlq::wire::consts::AF_INET,
            Some(nlq::wire::consts::RT_TABLE_MAIN),
        )
        .map_err(|e| e.to_string())?;
    for r in routes {
        let dst = r.dst.map_or("default".to_string(), |d| {
            format!("{d}/{}", r.header.dst_len)
        });
        let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
        println!("node: route {dst}{via} dev {}", r.oif.unwrap_or(0));
    }
    Ok(())
}

/// The node: polls smoltcp, serves TCP echo, and carries out the host
/// side's rtnetlink requests, until the host side is done.
fn node_loop(
    shared: &Shared<NodeStack>,
    netlink: &mut Handle<Client<NodeStack>>,
    requests: &Receiver<(Command, Sender<Answer>)>,
) -> Result<(), String> {
    let mut sockets = SocketSet::new(vec![]);
    // Two listeners, so that the service listens while one is busy.
    let echo: Vec<SocketHandle> = (0..2)
        .map(|_| {
            sockets.add(tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; 4096]),
                tcp::SocketBuffer::new(vec![0; 4096]),
            ))
        })
        .collect();
    let fd = shared.lock().stack().device().as_raw_fd();
    loop {
        let delay = {
            let mut server = shared.lock();
            let stack = server.stack_mut();
            stack.poll(Instant::now(), &mut sockets);
            serve_echo(&mut sockets, &echo);
            stack.poll(Instant::now(), &mut sockets);
            stack.poll_delay(Instant::now(), &sockets)
        };
        match requests.try_recv() {
            Ok((Command::DefaultVia { gateway, replace }, answer)) => {
                let route = Route::default_via(IpAddr::V4(gateway));
                let done = if replace {
                    netlink.route_replace(&route)
                } else {
                    netlink.route_add(&route)
                };
                let _ = answer.send(done.map_err(|e| e.to_string()));
                continue;
            }
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => return Ok(()),
        }
        // Sleep until a frame comes or smoltcp has something to do, but
        // look at the requests every few milliseconds.
        let most = smoltcp::time::Duration::from_millis(5);
        let wait = delay.map_or(most, |d| d.min(most));
        smoltcp::phy::wait(fd, Some(wait)).map_err(|e| format!("poll tap0: {e}"))?;
    }
}

/// The echo service: what a connection sends comes back.
fn serve_echo(sockets: &mut SocketSet<'_>, echo: &[SocketHandle]) {
    for h in echo {
        let socket = sockets.get_mut::<tcp::Socket>(*h);
        if !socket.is_open() {
            let _ = socket.listen(ECHO_PORT);
        }
        if socket.may_recv() {
            if socket.can_recv() && socket.can_send() {
                let mut buf = [0u8; 1024];
                let n = socket.recv_slice(&mut buf).unwrap_or(0);
                let _ = socket.send_slice(buf.get(..n).unwrap_or_default());
            }
        } else if socket.may_send() {
            socket.close();
        }
    }
}

/// The host side's checks, in order.
fn host_checks(node: &Sender<(Command, Sender<Answer>)>) -> Result<(), String> {
    let mut k = Handle::kernel().map_err(|e| e.to_string())?;
    let tap0 = k.if_nametoindex("tap0").map_err(|e| e.to_string())?;

    // 1. Ping.
    if !ping(NODE).map_err(|e| format!("ping: {e}"))? {
        return Err(format!("ping {NODE} from {HOST}: no reply"));
    }
    println!("host: ping {NODE} from {HOST}: reply");

    // 2. TCP echo.
    let sent = b"hello from the kernel side";
    let back = tcp_echo(SocketAddr::from((NODE, ECHO_PORT)), sent)
        .map_err(|e| format!("tcp echo: {e}"))?;
    if back != sent {
        return Err(format!("tcp echo: sent {sent:?}, got {back:?}"));
    }
    println!(
        "host: tcp echo {NODE}:{ECHO_PORT}: {} bytes back",
        back.len()
    );

    // 3. Routes. From here on the kernel reaches the node from 192.0.2.1,
    // outside the node's prefix: the node must route its replies.
    let mut to_node = Route::to(IpAddr::V4(NODE), 32).dev(tap0);
    to_node.prefsrc = Some(IpAddr::V4(FAR));
    k.route_add(&to_node)
        .map_err(|e| format!("host route: {e}"))?;
    let arp = ArpCapture::open(tap0).map_err(|e| format!("capture on tap0: {e}"))?;

    if ping(NODE).map_err(|e| format!("ping: {e}"))? {
        return Err(format!("ping {NODE} from {FAR} answered with no route"));
    }
    println!("host: ping {NODE} from {FAR}, the node without a route: no reply");
    arp.asked_by(NODE).map_err(|e| format!("capture: {e}"))?;

    for (gateway, replace) in [(GW_A, false), (GW_B, true)] {
        let (answer, done) = mpsc::channel();
        node.send((Command::DefaultVia { gateway, replace }, answer))
            .map_err(|_| "the node is gone".to_string())?;
        done.recv()
            .map_err(|_| "the node is gone".to_string())?
            .map_err(|e| format!("route via {gateway} over rtnetlink: {e}"))?;
        let verb = if replace { "replace" } else { "add" };
        if !ping(NODE).map_err(|e| format!("ping: {e}"))? {
            return Err(format!(
                "after ip route {verb} default via {gateway}, ping {NODE} from {FAR}: no reply"
            ));
        }
        let asked = arp.asked_by(NODE).map_err(|e| format!("capture: {e}"))?;
        if asked != [gateway] {
            return Err(format!(
                "after ip route {verb} default via {gateway}, the node asked ARP for {asked:?}"
            ));
        }
        println!(
            "host: node route {verb} default via {gateway}: ping {NODE} from {FAR}: reply, \
             the node resolved {asked:?}"
        );
    }
    Ok(())
}

/// One TCP round trip: connect, send `data`, read as many bytes back.
fn tcp_echo(to: SocketAddr, data: &[u8]) -> io::Result<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&to, WAIT)?;
    s.set_read_timeout(Some(WAIT))?;
    s.write_all(data)?;
    let mut back = vec![0u8; data.len()];
    s.read_exact(&mut back)?;
    Ok(back)
}

/// Makes a socket with `socket(2)`, as an owned descriptor.
fn socket(domain: i32, kind: i32, protocol: i32) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes only integers; the descriptor it returns is
    // new and owned by nothing else.
    let fd = unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a valid descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Pings `to` with the kernel's ICMP (a raw socket; the kernel picks the
/// source address by its routes): an echo request every 300 ms (the node
/// drops the reply it cannot send yet while it resolves its next hop), for
/// [`WAIT`] at most. True if an echo reply came.
fn ping(to: Ipv4Addr) -> io::Result<bool> {
    const ID: u16 = 0x10c7;
    const EVERY: Duration = Duration::from_millis(300);
    let s = UdpSocket::from(socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP)?);
    let deadline = std::time::Instant::now() + WAIT;
    let mut seq: u16 = 0;
    while std::time::Instant::now() < deadline {
        seq += 1;
        // Echo request: type 8, code 0, checksum, identifier, sequence,
        // data.
        let [i0, i1] = ID.to_be_bytes();
        let [s0, s1] = seq.to_be_bytes();
        let mut req = [8u8, 0, 0, 0, i0, i1, s0, s1, b'n', b'l', b'q', b'!'];
        let [c0, c1] = checksum(&req).to_be_bytes();
        req[2] = c0;
        req[3] = c1;
        s.send_to(&req, SocketAddr::from((to, 0)))?;
        let next = std::time::Instant::now() + EVERY;
        let mut buf = [0u8; 1500];
        loop {
            let left = next.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            s.set_read_timeout(Some(left))?;
            let (n, from) = match s.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => return Err(e),
            };
            // A raw socket reads the IP header too.
            let ihl = usize::from(buf.first().copied().unwrap_or(0) & 0x0f) * 4;
            let icmp = buf.get(ihl..n).unwrap_or_default();
            let is_reply =
                icmp.first() == Some(&0) && icmp.get(4..6) == Some(&ID.to_be_bytes()[..]);
            if is_reply && from.ip() == IpAddr::V4(to) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| {
            let hi = c.first().copied().unwrap_or(0);
            let lo = c.get(1).copied().unwrap_or(0);
            u32::from(u16::from_be_bytes([hi, lo]))
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// ARP frames on the host side of a link, captured with an `AF_PACKET`
/// socket.
struct ArpCapture(UdpSocket);

impl ArpCapture {
    fn open(ifindex: u32) -> io::Result<ArpCapture> {
        let proto = (libc::ETH_P_ARP as u16).to_be();
        let fd = socket(libc::AF_PACKET, libc::SOCK_DGRAM, i32::from(proto))?;
        // SAFETY: an all-zero sockaddr_ll is valid; the fields that matter
        // are set below.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = ifindex as i32;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `addr` is a sockaddr_ll of `len` bytes that outlives the
        // call, and `fd` is an open packet socket.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                len,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        let s = UdpSocket::from(fd);
        s.set_nonblocking(true)?;
        Ok(ArpCapture(s))
    }

    /// The addresses `sender` asked for (ARP requests) since the last
    /// call, in order.
    fn asked_by(&self, sender: Ipv4Addr) -> io::Result<Vec<Ipv4Addr>> {
        let mut asked = Vec::new();
        let mut buf = [0u8; 128];
        loop {
            let n = match self.0.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(asked),
                Err(e) => return Err(e),
            };
            // Ethernet/IPv4 ARP: operation at 6, sender IP at 14, target
            // IP at 24.
            let frame = buf.get(..n).unwrap_or_default();
            let ip = |at: usize| -> Option<Ipv4Addr> {
                let b: [u8; 4] = frame.get(at..at + 4)?.try_into().ok()?;
                Some(Ipv4Addr::from(b))
            };
            let request = frame.get(6..8) == Some(&[0, 1][..]);
            if let (true, Some(from), Some(target)) = (request, ip(14), ip(24)) {
                if from == sender {
                    asked.push(target);
                }
            }
        }
    }
}
