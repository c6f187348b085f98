//! Divergences the generator found, each minimised to its shortest
//! reproducer (the `ip` arguments of each step), named by the step that
//! diverged and what differed. They run in `divergences_found_stay_fixed`.

/// (what diverged, the steps).
pub const REGRESSIONS: &[(&str, &[&str])] = &[
    (
        "`ip -4 addr show`: tables",
        &["-4 addr show"],
    ),
    (
        "`ip -6 addr change 2001:db8:5::1/128 dev b1 scope global nodad`: tables",
        &["-6 addr change 2001:db8:5::1/128 dev b1 scope global nodad"],
    ),
    (
        "`ip -6 addr del fe80::1/64 dev lo`: tables",
        &["-6 addr del fe80::1/64 dev lo"],
    ),
    (
        "`ip -6 route del 2001:db8::/64 via 2001:db8:1::fe dev lo`: tables",
        &["-6 route del 2001:db8::/64 via 2001:db8:1::fe dev lo"],
    ),
    (
        "`ip addr add 10.0.0.1/24 dev b1 metric 0`: tables",
        &["addr add 10.0.0.1/24 dev b1 metric 0"],
    ),
    (
        "`ip addr flush dev b1`: tables",
        &["addr flush dev b1"],
    ),
    (
        "`ip link add b0 address 02:00:00:00:00:0a type bridge`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge"],
    ),
    (
        "`ip link add b0 type bridge`: notifications",
        &["link add b0 type bridge"],
    ),
    (
        "`ip link add b2 address 02:00:00:00:00:01 type bridge`: notifications",
        &["link add b2 address 02:00:00:00:00:01 type bridge"],
    ),
    (
        "`ip link del lo`: tables",
        &["link del lo"],
    ),
    (
        "`ip link set b1 name a-name-that-is-too-long`: tables",
        &["link set b1 name a-name-that-is-too-long"],
    ),
    (
        "`ip route add 10.0.0.0/24 via 10.0.0.1 table 200 scope host`: stderr",
        &["route add 10.0.0.0/24 via 10.0.0.1 table 200 scope host"],
    ),
    (
        "`ip route add blackhole 10.3.0.1/32 metric 1024 scope global`: tables",
        &["route add blackhole 10.3.0.1/32 metric 1024 scope global"],
    ),
    (
        "`ip route get 10.0.0.77`: stderr",
        &["route get 10.0.0.77"],
    ),
    (
        "`ip route get 192.0.2.9 oif b0`: tables",
        &["route get 192.0.2.9 oif b0"],
    ),
    (
        "`ip route get 8.8.8.8`: stderr",
        &["route get 8.8.8.8"],
    ),
    (
        "`ip -6 route add 2001:db8:30::1/128 via 2001:db8::fe dev lo metric 0`: stderr",
        &["link set lo mtu 60", "-6 route add 2001:db8:30::1/128 via 2001:db8::fe dev lo metric 0"],
    ),
    (
        "`ip addr replace 10.0.0.1/24 dev b0 metric 10`: notifications",
        &["link add b0 type bridge", "addr replace 10.0.0.1/24 dev b0 label b0:2 broadcast +", "addr replace 10.0.0.1/24 dev b0 metric 10"],
    ),
    (
        "`ip link set b0 address 02:00:00:00:00:01`: notifications",
        &["link add b0 type bridge", "link set b0 up", "link set b0 address 02:00:00:00:00:01"],
    ),
    (
        "`ip link set lo mtu 1279 up`: notifications",
        &["link set lo mtu 1279 up"],
    ),
    (
        "`ip link set lo mtu 576 up`: notifications",
        &["link set lo mtu 576 up"],
    ),
    (
        "`ip link set lo mtu 60 up`: notifications",
        &["link set lo mtu 60 up"],
    ),
    (
        "`ip link set lo mtu 67 up`: notifications",
        &["link set lo mtu 67 up"],
    ),
    (
        "`ip link set lo mtu 68 up`: notifications",
        &["link set lo mtu 68 up"],
    ),
    (
        "`ip link set lo up`: notifications",
        &["addr change 127.0.0.2/8 dev lo scope link", "link set lo up"],
    ),
    (
        "`ip route get 127.0.0.1`: status kernel 0 nlq 2",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "addr replace 10.0.0.1/24 dev b0 label b0:2 noprefixroute", "route add default via 10.0.0.1 dev b0", "route get 127.0.0.1"],
    ),
    (
        "",
        &["link add b0 type bridge", "link set b0 up", "link add b2 type bridge", "addr del 10.0.0.2/24 dev b1", "addr add 10.0.0.9/32 dev lo", "-6 addr add 2001:db8::2/64 dev b2 nodad"],
    ),
    (
        "`ip addr change 10.0.1.1/24 dev lo broadcast +`: stderr",
        &["link set lo mtu 67", "addr change 10.0.1.1/24 dev lo broadcast +"],
    ),
    (
        "`ip link set lo mtu 60 up`: notifications",
        &["link set lo mtu 1400 up", "link set lo mtu 60 up"],
    ),
    (
        "`ip link set lo mtu 67 up`: notifications",
        &["link set lo up", "link set lo mtu 67 up"],
    ),
    (
        "`ip link set lo up`: notifications",
        &["-6 addr add ::1/128 dev lo nodad", "link set lo up"],
    ),
    (
        "`ip -6 addr change 2001:db8::1/64 dev b0 metric 300 nodad`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr replace 2001:db8::1/64 dev b0 scope link noprefixroute", "-6 addr change 2001:db8::1/64 dev b0 metric 300 nodad"],
    ),
    (
        "`ip -6 addr change ::1/128 dev lo nodad`: notifications",
        &["link set lo up", "-6 addr change ::1/128 dev lo nodad"],
    ),
    (
        "`ip -6 route del throw default metric 0`: stderr",
        &["-6 route del throw default metric 0"],
    ),
    (
        "`ip addr change 127.0.0.2/8 dev lo metric 0 noprefixroute`: notifications",
        &["addr add 127.0.0.2/8 dev lo broadcast +", "addr change 127.0.0.2/8 dev lo metric 0 noprefixroute"],
    ),
    (
        "`ip addr replace 192.0.2.1/24 dev b0 broadcast + noprefixroute`: notifications",
        &["link add b0 type bridge", "addr add 192.0.2.1/24 dev b0", "addr replace 192.0.2.1/24 dev b0 broadcast + noprefixroute"],
    ),
    (
        "`ip link set lo mtu 1280 up`: notifications",
        &["addr replace 192.0.2.1/24 dev lo scope host", "link set lo mtu 1280 up"],
    ),
    (
        "`ip link set lo mtu 576 up`: notifications",
        &["addr replace 127.0.0.2/8 dev lo broadcast +", "link set lo mtu 576 up"],
    ),
    (
        "`ip link set lo up`: notifications",
        &["addr add 127.0.0.2/8 dev lo broadcast +", "link set lo up"],
    ),
    (
        "`ip route add 10.0.0.0/24 via 10.0.1.254 dev b0 onlink table 200`: status kernel 2 nlq 0",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "route add 10.0.0.0/24 via 10.0.1.254 dev b0 onlink table 200"],
    ),
    (
        "`ip route add 10.3.0.1/32 via 192.0.2.254 dev b0 onlink table 100`: status kernel 2 nlq 0",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "route add 10.3.0.1/32 via 192.0.2.254 dev b0 onlink table 100"],
    ),
    (
        "`ip route append default via 10.0.0.254 dev b0 onlink proto static`: status kernel 2 nlq 0",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "route append default via 10.0.0.254 dev b0 onlink proto static"],
    ),
    (
        "`ip route change 10.3.0.1/32 via 10.0.0.1 dev b0 onlink`: stderr",
        &["link add b0 type bridge", "link set b0 up", "route change 10.3.0.1/32 via 10.0.0.1 dev b0 onlink"],
    ),
    (
        "`ip route del prohibit 10.2.0.0/16 table 100 mtu 1400`: status kernel 2 nlq 0",
        &["route add prohibit 10.2.0.0/16 table 100", "route del prohibit 10.2.0.0/16 table 100 mtu 1400"],
    ),
    (
        "`ip route get 10.0.0.77`: stdout",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "addr change 10.0.0.1/24 dev lo scope global", "addr add 10.0.0.2/24 dev b0", "link set lo up", "route get 10.0.0.77"],
    ),
    (
        "`ip -6 addr replace fe80::1/64 dev b0 scope host nodad`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr change fe80::1/64 dev b0 metric 10 nodad", "-6 addr replace fe80::1/64 dev b0 scope host nodad"],
    ),
    (
        "`ip -6 route add local 2001:db8::/64 dev lo metric 1024 proto kernel src 2001:db8::1`: status kernel 2 nlq 0",
        &["-6 route add local 2001:db8::/64 dev lo metric 1024 proto kernel src 2001:db8::1"],
    ),
    (
        "`ip -6 route add prohibit 2001:db8:10::/48`: notifications",
        &["-6 route add prohibit 2001:db8:10::/48"],
    ),
    (
        "`ip -6 route append 2001:db8:20::/48 table 100 metric 5`: stderr",
        &["-6 route append 2001:db8:20::/48 table 100 metric 5"],
    ),
    (
        "`ip -6 route append 2001:db8:30::1/128 via 2001:db8:1::fe onlink table main mtu 1300 pref medium`: stderr",
        &["-6 route append 2001:db8:30::1/128 via 2001:db8:1::fe onlink table main mtu 1300 pref medium"],
    ),
    (
        "`ip -6 route append blackhole 2001:db8:10::/48 metric 1024`: notifications",
        &["-6 route append blackhole 2001:db8:10::/48 metric 1024"],
    ),
    (
        "`ip -6 route get 2001:4860::1`: stderr",
        &["-6 route get 2001:4860::1"],
    ),
    (
        "`ip -6 route get 2001:db8:10::5`: stderr",
        &["-6 route get 2001:db8:10::5"],
    ),
    (
        "`ip -6 route get 2001:db8::1`: stderr",
        &["-6 route get 2001:db8::1"],
    ),
    (
        "`ip -6 route get 2001:db8::77`: stderr",
        &["-6 route get 2001:db8::77"],
    ),
    (
        "`ip link add b2 address 02:00:00:00:00:01 mtu 1279 type bridge`: notifications",
        &["link add b2 address 02:00:00:00:00:01 mtu 1279 type bridge"],
    ),
    (
        "`ip link add b2 address 02:00:00:00:00:02 type bridge`: notifications",
        &["link add b2 address 02:00:00:00:00:02 type bridge"],
    ),
    (
        "`ip route add local default table main scope host`: status kernel 2 nlq 0",
        &["route add local default table main scope host"],
    ),
    (
        "`ip route add local default via 10.0.0.1 mtu lock 1200`: stderr",
        &["route add local default via 10.0.0.1 mtu lock 1200"],
    ),
    (
        "`ip route get 10.3.0.1 oif lo`: stderr",
        &["route get 10.3.0.1 oif lo"],
    ),
    (
        "`ip route get 10.3.0.1`: stderr",
        &["route get 10.3.0.1"],
    ),
    (
        "`ip route get 127.0.0.1`: stderr",
        &["route get 127.0.0.1"],
    ),
    (
        "`ip route prepend throw 10.1.0.0/16 dev lo proto static`: status kernel 2 nlq 0",
        &["route prepend throw 10.1.0.0/16 dev lo proto static"],
    ),
    (
        "`ip -6 addr add 2001:db8:1::1/64 dev b0 nodad`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr add 2001:db8:1::1/64 dev b0 nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8:1::1/64 dev lo metric 300 nodad`: notifications",
        &["-6 addr add 2001:db8:1::1/64 dev lo metric 300 nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8:1::1/64 dev lo`: notifications",
        &["-6 addr add 2001:db8:1::1/64 dev lo"],
    ),
    (
        "`ip -6 addr add 2001:db8:5::1/128 dev b0 scope site`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr add 2001:db8:5::1/128 dev b0 scope site"],
    ),
    (
        "`ip -6 addr add 2001:db8:5::1/128 dev lo`: notifications",
        &["-6 addr add 2001:db8:5::1/128 dev lo"],
    ),
    (
        "`ip -6 addr add 2001:db8::1/64 dev b0 noprefixroute`: notifications",
        &["link add b0 type bridge", "-6 addr add 2001:db8::1/64 dev b0 noprefixroute"],
    ),
    (
        "`ip -6 addr add 2001:db8::1/64 dev lo metric 0`: notifications",
        &["-6 addr add 2001:db8::1/64 dev lo metric 0"],
    ),
    (
        "`ip -6 addr add 2001:db8::2/64 dev lo nodad`: notifications",
        &["-6 addr add 2001:db8::2/64 dev lo nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8::2/64 dev lo`: notifications",
        &["-6 addr add 2001:db8::2/64 dev lo"],
    ),
    (
        "`ip -6 addr add ::1/128 dev b0 metric 0 nodad`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr add ::1/128 dev b0 metric 0 nodad"],
    ),
    (
        "`ip -6 addr add ::1/128 dev b0 nodad`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr add ::1/128 dev b0 nodad"],
    ),
    (
        "`ip -6 addr add ::1/128 dev b2 nodad`: stderr",
        &["link add b2 address 02:00:00:00:00:01 type bridge", "-6 addr add ::1/128 dev b2 nodad"],
    ),
    (
        "`ip -6 addr add ::1/128 dev lo metric 10 nodad`: notifications",
        &["-6 addr add ::1/128 dev lo metric 10 nodad"],
    ),
    (
        "`ip -6 addr add ::1/128 dev lo scope site nodad`: notifications",
        &["-6 addr add ::1/128 dev lo scope site nodad"],
    ),
    (
        "`ip -6 addr change 2001:db8:1::1/64 dev b0 scope global noprefixroute nodad`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr change 2001:db8:1::1/64 dev b0 scope global noprefixroute nodad"],
    ),
    (
        "`ip -6 addr change 2001:db8:1::1/64 dev b0 scope site nodad`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr change 2001:db8:1::1/64 dev b0 scope site nodad"],
    ),
    (
        "`ip -6 addr change 2001:db8:5::1/128 dev lo`: notifications",
        &["-6 addr change 2001:db8:5::1/128 dev lo"],
    ),
    (
        "`ip -6 addr change 2001:db8::2/64 dev b1 metric 0 nodad`: notifications",
        &["link add b1 address 02:00:00:00:00:02 type bridge", "-6 addr change 2001:db8::2/64 dev b1 metric 0 nodad"],
    ),
    (
        "`ip -6 addr change ::1/128 dev b0 noprefixroute`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr change ::1/128 dev b0 noprefixroute"],
    ),
    (
        "`ip -6 addr change fe80::1/64 dev b0 nodad`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr change fe80::1/64 dev b0 nodad"],
    ),
    (
        "`ip -6 addr change fe80::1/64 dev lo metric 300 nodad`: notifications",
        &["-6 addr change fe80::1/64 dev lo metric 300 nodad"],
    ),
    (
        "`ip -6 addr del 2001:db8:1::1/64 dev b0`: stderr",
        &["link add b0 mtu 576 type bridge", "-6 addr del 2001:db8:1::1/64 dev b0"],
    ),
    (
        "`ip -6 addr replace 2001:db8:1::1/64 dev lo nodad`: notifications",
        &["-6 addr replace 2001:db8:1::1/64 dev lo nodad"],
    ),
    (
        "`ip -6 addr replace 2001:db8:5::1/128 dev lo nodad`: notifications",
        &["-6 addr replace 2001:db8:5::1/128 dev lo nodad"],
    ),
    (
        "`ip -6 addr replace 2001:db8::2/64 dev lo nodad`: notifications",
        &["-6 addr replace 2001:db8::2/64 dev lo nodad"],
    ),
    (
        "`ip -6 route add 2001:db8:10::/48 src 2001:db8::77`: stderr",
        &["-6 route add 2001:db8:10::/48 src 2001:db8::77"],
    ),
    (
        "`ip -6 route add 2001:db8::/64`: stderr",
        &["-6 route add 2001:db8::/64"],
    ),
    (
        "`ip -6 route add blackhole 2001:db8:10::/48 dev lo table 100 pref high`: notifications",
        &["-6 route add blackhole 2001:db8:10::/48 dev lo table 100 pref high"],
    ),
    (
        "`ip -6 route add blackhole 2001:db8::/64 src 2001:db8::77`: status kernel 2 nlq 0",
        &["-6 route add blackhole 2001:db8::/64 src 2001:db8::77"],
    ),
    (
        "`ip -6 route add default via fe80::fe dev lo metric 100 proto boot pref medium`: stderr",
        &["-6 route add default via fe80::fe dev lo metric 100 proto boot pref medium"],
    ),
    (
        "`ip -6 route add local 2001:db8::/64 via 2001:db8:1::fe dev b0 onlink scope host pref high`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 route add local 2001:db8::/64 via 2001:db8:1::fe dev b0 onlink scope host pref high"],
    ),
    (
        "`ip -6 route add local 2001:db8::/64 via fe80::fe dev b0`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 route add local 2001:db8::/64 via fe80::fe dev b0"],
    ),
    (
        "`ip -6 route add prohibit 2001:db8:30::1/128 metric 1024 proto kernel src 2001:db8::77`: status kernel 2 nlq 0",
        &["-6 route add prohibit 2001:db8:30::1/128 metric 1024 proto kernel src 2001:db8::77"],
    ),
    (
        "`ip -6 route add throw 2001:db8:10::/48 src 2001:db8::1`: status kernel 2 nlq 0",
        &["-6 route add throw 2001:db8:10::/48 src 2001:db8::1"],
    ),
    (
        "`ip -6 route add throw 2001:db8:20::/48 table main src 2001:db8::77`: status kernel 2 nlq 0",
        &["-6 route add throw 2001:db8:20::/48 table main src 2001:db8::77"],
    ),
    (
        "`ip -6 route add throw 2001:db8::/64 scope link pref low`: notifications",
        &["-6 route add throw 2001:db8::/64 scope link pref low"],
    ),
    (
        "`ip -6 route append 2001:db8:30::1/128`: stderr",
        &["-6 route append 2001:db8:30::1/128"],
    ),
    (
        "`ip -6 route append 2001:db8::/64 dev b0 metric 0`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "-6 route append 2001:db8::/64 dev b0 metric 0"],
    ),
    (
        "`ip -6 route append blackhole 2001:db8:20::/48`: notifications",
        &["-6 route append blackhole 2001:db8:20::/48"],
    ),
    (
        "`ip -6 route get 2001:db8::77 oif b1`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link add b1 mtu 9000 type bridge", "-6 route add prohibit 2001:db8::/64 dev b0", "-6 route get 2001:db8::77 oif b1"],
    ),
    (
        "`ip -6 route prepend unreachable 2001:db8:10::/48 table 100 metric 1024 proto static src 2001:db8::1`: status kernel 2 nlq 0",
        &["-6 route prepend unreachable 2001:db8:10::/48 table 100 metric 1024 proto static src 2001:db8::1"],
    ),
    (
        "`ip -6 route replace 2001:db8:30::1/128 via fe80::fe dev lo table main metric 100`: stderr",
        &["-6 route replace 2001:db8:30::1/128 via fe80::fe dev lo table main metric 100"],
    ),
    (
        "`ip -6 route replace blackhole 2001:db8:10::/48 metric 5 pref high`: notifications",
        &["-6 route replace blackhole 2001:db8:10::/48 metric 5 pref high"],
    ),
    (
        "`ip -6 route replace default`: stderr",
        &["-6 route replace default"],
    ),
    (
        "`ip -6 route replace prohibit 2001:db8:20::/48 table 200 pref low`: notifications",
        &["-6 route replace prohibit 2001:db8:20::/48 table 200 pref low"],
    ),
    (
        "`ip link del b0`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "link del b0"],
    ),
    (
        "`ip link set b0 address 02:00:00:00:00:01`: notifications",
        &["link add b0 type bridge", "link set b0 address 02:00:00:00:00:01"],
    ),
    (
        "`ip link set b0 down`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "-6 addr del 2001:db8::1/64 dev lo", "route append 10.0.0.0/24 via 192.0.2.254 dev b0", "route show table local", "route add 10.3.0.1/16 via 10.9.9.9", "route add 10.3.0.1/16 dev b2 onlink hoplimit 5", "link set b0 down"],
    ),
    (
        "`ip link set b0 name b1`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "addr add 10.0.0.1/24 dev b0 label b0:1", "link set b0 name b1"],
    ),
    (
        "`ip link set b0 up`: notifications",
        &["link add b0 type bridge", "link set b0 up"],
    ),
    (
        "`ip link set b2 up`: notifications",
        &["link add b2 type bridge", "link set b2 up"],
    ),
    (
        "`ip link set lo up`: notifications",
        &["addr replace 10.0.0.1/24 dev lo", "link set lo up"],
    ),
    (
        "`ip route add 10.2.0.0/16 dev lo onlink table 200`: stderr",
        &["route add 10.2.0.0/16 dev lo onlink table 200"],
    ),
    (
        "`ip route add 10.2.0.0/16 via 10.0.0.254 dev b2 table 100 scope host`: stderr",
        &["link add b2 mtu 9000 type bridge", "route add 10.2.0.0/16 via 10.0.0.254 dev b2 table 100 scope host"],
    ),
    (
        "`ip route add 10.2.0.0/16`: stderr",
        &["route add 10.2.0.0/16"],
    ),
    (
        "`ip route add 192.0.2.0/24 table 200`: stderr",
        &["route add 192.0.2.0/24 table 200"],
    ),
    (
        "`ip route add 192.0.2.0/24 via 10.9.9.9 dev b2 scope host`: stderr",
        &["link add b2 type bridge", "route add 192.0.2.0/24 via 10.9.9.9 dev b2 scope host"],
    ),
    (
        "`ip route add 192.0.2.0/24 via 10.9.9.9 dev lo onlink metric 5 proto static`: stderr",
        &["route add 192.0.2.0/24 via 10.9.9.9 dev lo onlink metric 5 proto static"],
    ),
    (
        "`ip route add blackhole 10.2.0.0/16 dev lo src 127.0.0.1 mtu lock 1200`: status kernel 2 nlq 0",
        &["route add blackhole 10.2.0.0/16 dev lo src 127.0.0.1 mtu lock 1200"],
    ),
    (
        "`ip route add blackhole 10.3.0.1/32 dev lo table 100`: status kernel 2 nlq 0",
        &["route add blackhole 10.3.0.1/32 dev lo table 100"],
    ),
    (
        "`ip route add broadcast 192.0.2.0/24 dev b0 onlink proto 99`: status kernel 2 nlq 0",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "route add broadcast 192.0.2.0/24 dev b0 onlink proto 99"],
    ),
    (
        "`ip route add broadcast default table main`: status kernel 2 nlq 0",
        &["route add broadcast default table main"],
    ),
    (
        "`ip route add default dev b2 onlink`: stderr",
        &["link add b2 address 02:00:00:00:00:01 type bridge", "route add default dev b2 onlink"],
    ),
    (
        "`ip route add default via 10.0.0.1 dev b0 onlink table 100`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "route add default via 10.0.0.1 dev b0 onlink table 100"],
    ),
    (
        "`ip route add local 10.1.0.0/16 table local`: status kernel 2 nlq 0",
        &["route add local 10.1.0.0/16 table local"],
    ),
    (
        "`ip route add local 10.3.0.1/32 via 10.0.0.1 dev lo src 10.0.0.1 mtu lock 1200`: stderr",
        &["route add local 10.3.0.1/32 via 10.0.0.1 dev lo src 10.0.0.1 mtu lock 1200"],
    ),
    (
        "`ip route add local 10.3.0.1/32 via 192.0.2.254 table 200 scope host proto static hoplimit 64`: stderr",
        &["route add local 10.3.0.1/32 via 192.0.2.254 table 200 scope host proto static hoplimit 64"],
    ),
    (
        "`ip route add local default nexthop via 192.0.2.254 weight 2 nexthop via 10.9.9.9 dev lo nexthop via 10.0.0.254`: stderr",
        &["route add local default nexthop via 192.0.2.254 weight 2 nexthop via 10.9.9.9 dev lo nexthop via 10.0.0.254"],
    ),
    (
        "`ip route add prohibit 192.0.2.0/24 dev lo`: status kernel 2 nlq 0",
        &["route add prohibit 192.0.2.0/24 dev lo"],
    ),
    (
        "`ip route append 10.1.0.0/16 proto static mtu lock 1200`: stderr",
        &["route append 10.1.0.0/16 proto static mtu lock 1200"],
    ),
    (
        "`ip route append local 10.1.0.0/16 via 192.0.2.254 dev b0`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "route append local 10.1.0.0/16 via 192.0.2.254 dev b0"],
    ),
    (
        "`ip route append local 10.2.0.0/16 via 10.0.0.254 dev lo table local metric 5`: stderr",
        &["link add b0 mtu 1279 type bridge", "route append local 10.2.0.0/16 via 10.0.0.254 dev lo table local metric 5"],
    ),
    (
        "`ip route append throw 10.2.0.0/16 dev lo table main scope global mtu 1400`: status kernel 2 nlq 0",
        &["route append throw 10.2.0.0/16 dev lo table main scope global mtu 1400"],
    ),
    (
        "`ip route change 10.3.0.1/32 dev b0 onlink scope host mtu lock 1200`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "route change 10.3.0.1/32 dev b0 onlink scope host mtu lock 1200"],
    ),
    (
        "`ip route change 10.3.0.1/32 dev lo metric 100 src 10.0.0.77`: stderr",
        &["link set lo mtu 70000 up", "route change 10.3.0.1/32 dev lo metric 100 src 10.0.0.77"],
    ),
    (
        "`ip route change blackhole default dev b0 table 200 src 10.0.0.77`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "route change blackhole default dev b0 table 200 src 10.0.0.77"],
    ),
    (
        "`ip route change local 10.1.0.0/16`: stderr",
        &["route change local 10.1.0.0/16"],
    ),
    (
        "`ip route change local 10.3.0.1/32 via 192.0.2.254 table local proto kernel src 10.0.0.1`: stderr",
        &["route change local 10.3.0.1/32 via 192.0.2.254 table local proto kernel src 10.0.0.1"],
    ),
    (
        "`ip route del prohibit 10.3.0.1/32 dev lo`: stderr",
        &["link set lo mtu 70000 up", "route del prohibit 10.3.0.1/32 dev lo"],
    ),
    (
        "`ip route del unreachable 10.0.0.0/24`: stderr",
        &["route prepend broadcast 10.3.0.1/32 via 10.0.0.1 hoplimit 5", "route del unreachable 10.0.0.0/24"],
    ),
    (
        "`ip route del unreachable 10.1.0.0/16 src 10.0.0.1 hoplimit 64`: stderr",
        &["addr add 127.0.0.2/8 dev lo scope global", "route del unreachable 10.1.0.0/16 src 10.0.0.1 hoplimit 64"],
    ),
    (
        "`ip route flush proto static`: status kernel 0 nlq 2",
        &["addr add 10.0.0.3/8 dev lo", "route flush proto static"],
    ),
    (
        "`ip route prepend 10.0.0.0/24`: stderr",
        &["route prepend 10.0.0.0/24"],
    ),
    (
        "`ip route prepend local 10.3.0.1/32 via 10.9.9.9 dev b0 onlink`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "route prepend local 10.3.0.1/32 via 10.9.9.9 dev b0 onlink"],
    ),
    (
        "`ip route replace local 10.1.0.0/16 via 192.0.2.254 dev b0`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "route replace local 10.1.0.0/16 via 192.0.2.254 dev b0"],
    ),
    (
        "`ip -6 addr add 2001:db8:1::1/64 dev b2 metric 0 noprefixroute nodad`: notifications",
        &["link add b2 address 02:00:00:00:00:02 type bridge", "-6 addr add 2001:db8:1::1/64 dev b2 metric 0 noprefixroute nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8:1::1/64 dev lo nodad`: notifications",
        &["-6 addr add 2001:db8:1::1/64 dev lo nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8:5::1/128 dev b0 nodad`: notifications",
        &["link add b0 type bridge", "-6 addr add 2001:db8:5::1/128 dev b0 nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8:5::1/128 dev lo nodad`: notifications",
        &["-6 addr add 2001:db8:5::1/128 dev lo nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8:5::1/128 dev lo noprefixroute nodad`: notifications",
        &["-6 addr add 2001:db8:5::1/128 dev lo noprefixroute nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8::1/64 dev b0 scope global nodad`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr add 2001:db8::1/64 dev b0 scope global nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8::1/64 dev b1 metric 10`: notifications",
        &["link add b1 address 02:00:00:00:00:01 type bridge", "-6 addr add 2001:db8::1/64 dev b1 metric 10"],
    ),
    (
        "`ip -6 addr add 2001:db8::1/64 dev lo nodad`: notifications",
        &["-6 addr add 2001:db8::1/64 dev lo nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8::1/64 dev lo`: notifications",
        &["-6 addr add 2001:db8::1/64 dev lo"],
    ),
    (
        "`ip -6 addr add 2001:db8::2/64 dev b2 nodad`: notifications",
        &["link add b2 type bridge", "-6 addr add 2001:db8::2/64 dev b2 nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8::2/64 dev lo metric 300 nodad`: notifications",
        &["-6 addr add 2001:db8::2/64 dev lo metric 300 nodad"],
    ),
    (
        "`ip -6 addr add ::1/128 dev b0 metric 0`: stderr",
        &["link add b0 type bridge", "-6 addr add ::1/128 dev b0 metric 0"],
    ),
    (
        "`ip -6 addr add fe80::1/64 dev b0 scope global metric 300`: notifications",
        &["link add b0 type bridge", "-6 addr add fe80::1/64 dev b0 scope global metric 300"],
    ),
    (
        "`ip -6 addr add fe80::1/64 dev b0`: notifications",
        &["link add b0 type bridge", "-6 addr add fe80::1/64 dev b0"],
    ),
    (
        "`ip -6 addr add fe80::1/64 dev lo metric 300`: notifications",
        &["-6 addr add fe80::1/64 dev lo metric 300"],
    ),
    (
        "`ip -6 addr add fe80::1/64 dev lo nodad`: notifications",
        &["-6 addr add fe80::1/64 dev lo nodad"],
    ),
    (
        "`ip -6 addr add fe80::1/64 dev lo scope site`: notifications",
        &["-6 addr add fe80::1/64 dev lo scope site"],
    ),
    (
        "`ip -6 addr add fe80::1/64 dev lo`: notifications",
        &["-6 addr add fe80::1/64 dev lo"],
    ),
    (
        "`ip -6 addr change 2001:db8:5::1/128 dev b2 scope site metric 300`: notifications",
        &["link add b2 type bridge", "-6 addr change 2001:db8:5::1/128 dev b2 scope site metric 300"],
    ),
    (
        "`ip -6 addr change 2001:db8:5::1/128 dev lo nodad`: notifications",
        &["-6 addr change 2001:db8:5::1/128 dev lo nodad"],
    ),
    (
        "`ip -6 addr change 2001:db8::2/64 dev b0`: notifications",
        &["link add b0 type bridge", "-6 addr change 2001:db8::2/64 dev b0"],
    ),
    (
        "`ip -6 addr change ::1/128 dev b0 scope global`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr change ::1/128 dev b0 scope global"],
    ),
    (
        "`ip -6 addr change ::1/128 dev lo scope host nodad`: notifications",
        &["-6 addr change ::1/128 dev lo scope host nodad"],
    ),
    (
        "`ip -6 addr change fe80::1/64 dev lo noprefixroute nodad`: notifications",
        &["-6 addr change fe80::1/64 dev lo noprefixroute nodad"],
    ),
    (
        "`ip -6 addr replace 2001:db8:5::1/128 dev b0 metric 300 nodad`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr replace 2001:db8:5::1/128 dev b0 metric 300 nodad"],
    ),
    (
        "`ip -6 addr replace 2001:db8:5::1/128 dev b0 noprefixroute`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr replace 2001:db8:5::1/128 dev b0 noprefixroute"],
    ),
    (
        "`ip -6 addr replace 2001:db8::1/64 dev b0 nodad`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr replace 2001:db8::1/64 dev b0 nodad"],
    ),
    (
        "`ip -6 addr replace 2001:db8::1/64 dev lo nodad`: notifications",
        &["-6 addr replace 2001:db8::1/64 dev lo nodad"],
    ),
    (
        "`ip -6 addr replace 2001:db8::2/64 dev lo scope global noprefixroute nodad`: notifications",
        &["-6 addr replace 2001:db8::2/64 dev lo scope global noprefixroute nodad"],
    ),
    (
        "`ip -6 addr replace 2001:db8::2/64 dev lo`: notifications",
        &["-6 addr replace 2001:db8::2/64 dev lo"],
    ),
    (
        "`ip -6 addr replace ::1/128 dev b0 nodad`: stderr",
        &["link add b0 type bridge", "-6 addr replace ::1/128 dev b0 nodad"],
    ),
    (
        "`ip -6 addr show`: stdout",
        &["link add b0 type bridge", "link set b0 up", "-6 addr show"],
    ),
    (
        "`ip -6 route add blackhole 2001:db8:10::/48 pref high`: notifications",
        &["-6 route add blackhole 2001:db8:10::/48 pref high"],
    ),
    (
        "`ip -6 route append 2001:db8:10::/48 via 2001:db8::fe dev b0 onlink mtu 1300`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "-6 route append 2001:db8:10::/48 via 2001:db8::fe dev b0 onlink mtu 1300"],
    ),
    (
        "`ip -6 route append 2001:db8:30::1/128 via fe80::fe dev b0 metric 5`: notifications",
        &["link add b0 type bridge", "link set b0 up", "-6 route append 2001:db8:30::1/128 via fe80::fe dev b0 metric 5"],
    ),
    (
        "`ip -6 route append prohibit 2001:db8:10::/48 pref high`: notifications",
        &["-6 route append prohibit 2001:db8:10::/48 pref high"],
    ),
    (
        "`ip -6 route append throw 2001:db8:10::/48`: notifications",
        &["-6 route append throw 2001:db8:10::/48"],
    ),
    (
        "`ip -6 route append unreachable default table 100`: notifications",
        &["-6 route append unreachable default table 100"],
    ),
    (
        "`ip -6 route prepend unreachable 2001:db8::/64 dev lo pref low`: notifications",
        &["-6 route prepend unreachable 2001:db8::/64 dev lo pref low"],
    ),
    (
        "`ip -6 route prepend unreachable default pref low`: notifications",
        &["-6 route prepend unreachable default pref low"],
    ),
    (
        "`ip addr flush dev b0`: notifications",
        &["link add b0 type bridge", "link set b0 up", "addr flush dev b0"],
    ),
    (
        "`ip link del b0`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "route replace 10.3.0.1/32 nexthop via 10.0.0.254 dev lo weight 3 nexthop via 10.0.0.254 dev b1 weight 1 metric 0", "-6 route add default via 2001:db8::fe dev b0", "route add blackhole default table main", "route add throw 10.0.0.0/24 dev b1 scope host", "route show", "link del b0"],
    ),
    (
        "`ip link set b0 address 02:00:00:00:00:01`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "addr replace 10.0.0.1/24 dev b2", "route flush proto static", "-6 link show", "route get 127.0.0.1", "link set b0 address 02:00:00:00:00:01"],
    ),
    (
        "`ip link set b0 down`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "-6 route append local 2001:db8::/64 nexthop via 2001:db8::fe dev lo nexthop via 2001:db8:9::9 dev b1 nexthop via fe80::fe", "-6 route del 2001:db8:20::/48 via 2001:db8:1::fe dev lo", "route replace prohibit 10.3.0.1/16 metric 0", "-6 addr del 2001:db8:5::1/128 dev b1", "route show", "link set b0 down"],
    ),
    (
        "`ip route del 10.0.0.0/24 dev lo scope global`: stderr",
        &["link add b0 type bridge", "addr replace 10.0.0.1/24 dev b0 label b0:2 broadcast +", "route del 10.0.0.0/24 dev lo scope global"],
    ),
    (
        "`ip route del 10.1.0.0/16 via 10.0.0.1 dev lo`: stderr",
        &["route add local default nexthop via 192.0.2.254 weight 2 nexthop via 10.9.9.9 dev lo nexthop via 10.0.0.254", "route del 10.1.0.0/16 via 10.0.0.1 dev lo"],
    ),
    (
        "`ip route del 10.3.0.1/32 metric 1024 scope global`: stderr",
        &["link set lo up", "route del 10.3.0.1/32 metric 1024 scope global"],
    ),
    (
        "`ip route del 192.0.2.0/24 via 10.0.0.1 metric 5 proto kernel src 127.0.0.1`: stderr",
        &["route add 10.3.0.1/16 via 192.0.2.254 dev lo mtu 1300", "route del 192.0.2.0/24 via 10.0.0.1 metric 5 proto kernel src 127.0.0.1"],
    ),
    (
        "`ip route del 192.0.2.0/24 via 10.9.9.9`: stderr",
        &["addr add 10.0.0.3/8 dev lo scope host", "route del 192.0.2.0/24 via 10.9.9.9"],
    ),
    (
        "`ip route del 192.0.2.0/24`: stderr",
        &["route add blackhole 10.3.0.1/16", "route del 192.0.2.0/24"],
    ),
    (
        "`ip route del blackhole 10.3.0.1/32 mtu 1400`: stderr",
        &["route add local default via 10.0.1.254 dev lo scope host proto static mtu lock 1200", "route del blackhole 10.3.0.1/32 mtu 1400"],
    ),
    (
        "`ip route del throw 10.2.0.0/16 dev b0 proto kernel mtu 1400`: stderr",
        &["link add b0 type bridge", "route prepend broadcast 192.0.2.0/24 via 10.0.0.1 onlink scope host proto boot", "route del throw 10.2.0.0/16 dev b0 proto kernel mtu 1400"],
    ),
    (
        "`ip route del unreachable 10.2.0.0/16`: stderr",
        &["route replace 10.3.0.1/16 via 10.0.0.1 dev lo", "route del unreachable 10.2.0.0/16"],
    ),
    (
        "`ip route get 127.0.0.1`: status kernel 2 nlq 0",
        &["link add b0 type bridge", "link set b0 up", "addr replace 127.0.0.2/8 dev b0 scope global", "route get 127.0.0.1"],
    ),
    (
        "`ip -6 addr add 2001:db8:1::1/64 dev b2 metric 300 nodad`: notifications",
        &["link add b2 type bridge", "-6 addr add 2001:db8:1::1/64 dev b2 metric 300 nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8:1::1/64 dev lo metric 300`: notifications",
        &["-6 addr add 2001:db8:1::1/64 dev lo metric 300"],
    ),
    (
        "`ip -6 addr add ::1/128 dev b1`: stderr",
        &["link add b1 address 02:00:00:00:00:01 type bridge", "-6 addr add ::1/128 dev b1"],
    ),
    (
        "`ip -6 addr add 2001:db8:1::1/64 dev b0 nodad`: notifications",
        &["link add b0 type bridge", "-6 addr add 2001:db8:1::1/64 dev b0 nodad"],
    ),
    (
        "`ip -6 route append unreachable 2001:db8:30::1/128 table 100 metric 1024 proto boot hoplimit 5`: notifications",
        &["-6 route append unreachable 2001:db8:30::1/128 table 100 metric 1024 proto boot hoplimit 5"],
    ),
    (
        "`ip link set b1 mtu 67`: tables",
        &["link set lo name b1", "link set b1 mtu 67"],
    ),
    (
        "`ip link set lo mtu 576`: tables",
        &["link set lo mtu 576"],
    ),
    (
        "`ip link set lo mtu 60`: tables",
        &["link set lo mtu 60"],
    ),
    (
        "`ip link set lo mtu 67`: tables",
        &["link set lo mtu 67"],
    ),
    (
        "`ip link set lo mtu 68`: tables",
        &["link set lo mtu 68"],
    ),
    (
        "`ip -6 addr add 2001:db8:1::1/64 dev b2 metric 300 nodad`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link add b2 type bridge", "-6 addr add 2001:db8:1::1/64 dev b0 nodad", "-6 addr add 2001:db8:1::1/64 dev b2 metric 300 nodad"],
    ),
    (
        "`ip -6 addr add 2001:db8:1::1/64 dev lo`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "-6 addr change 2001:db8:1::1/64 dev b0 scope site nodad", "-6 addr add 2001:db8:1::1/64 dev lo"],
    ),
    (
        "`ip -6 addr add ::1/128 dev lo noprefixroute`: status kernel 0 nlq 2",
        &["link set lo mtu 576", "-6 addr add ::1/128 dev lo noprefixroute"],
    ),
    (
        "`ip -6 addr change 2001:db8:5::1/128 dev lo nodad`: status kernel 0 nlq 2",
        &["link set lo mtu 68", "-6 addr change 2001:db8:5::1/128 dev lo nodad"],
    ),
    (
        "`ip -6 addr del 2001:db8:5::1/128 dev b0`: stderr",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 mtu 1279", "-6 addr del 2001:db8:5::1/128 dev b0"],
    ),
    (
        "`ip -6 addr del 2001:db8::1/64 dev b2`: stderr",
        &["link add b2 address 02:00:00:00:00:01 mtu 576 type bridge", "-6 addr del 2001:db8::1/64 dev b2"],
    ),
    (
        "`ip -6 addr del fe80::1/64 dev b0`: stderr",
        &["link add b0 mtu 1279 type bridge", "-6 addr del fe80::1/64 dev b0"],
    ),
    (
        "`ip -6 addr replace 2001:db8:1::1/64 dev lo metric 0 nodad`: notifications",
        &["link add b0 type bridge", "-6 addr add 2001:db8:1::1/64 dev b0 nodad", "-6 addr replace 2001:db8:1::1/64 dev lo metric 0 nodad"],
    ),
    (
        "`ip -6 route add blackhole default pref high`: notifications",
        &["-6 route add blackhole default pref high"],
    ),
    (
        "`ip -6 route add prohibit 2001:db8:30::1/128 scope link pref low`: notifications",
        &["-6 route add prohibit 2001:db8:30::1/128 scope link pref low"],
    ),
    (
        "`ip -6 route add throw 2001:db8:10::/48 dev b0 metric 1024 mtu lock 1200 pref high`: notifications",
        &["link add b0 type bridge", "-6 route add throw 2001:db8:10::/48 dev b0 metric 1024 mtu lock 1200 pref high"],
    ),
    (
        "`ip -6 route add throw 2001:db8:20::/48 table 200 pref low`: notifications",
        &["-6 route add throw 2001:db8:20::/48 table 200 pref low"],
    ),
    (
        "`ip -6 route add throw default hoplimit 5 pref low`: notifications",
        &["-6 route add throw default hoplimit 5 pref low"],
    ),
    (
        "`ip -6 route append 2001:db8:10::/48 dev b0 pref medium`: notifications",
        &["link add b0 type bridge", "link set b0 up", "-6 route append 2001:db8:10::/48 dev b0 pref medium"],
    ),
    (
        "`ip -6 route append blackhole 2001:db8:20::/48 table local`: notifications",
        &["-6 route append blackhole 2001:db8:20::/48 table local"],
    ),
    (
        "`ip -6 route append prohibit 2001:db8:30::1/128 hoplimit 5 pref low`: notifications",
        &["-6 route append prohibit 2001:db8:30::1/128 hoplimit 5 pref low"],
    ),
    (
        "`ip -6 route append unreachable 2001:db8:30::1/128`: notifications",
        &["-6 route append unreachable 2001:db8:30::1/128"],
    ),
    (
        "`ip -6 route change blackhole default dev lo table local`: stderr",
        &["-6 route change blackhole default dev lo table local"],
    ),
    (
        "`ip -6 route change blackhole default`: stderr",
        &["-6 route change blackhole default"],
    ),
    (
        "`ip -6 route change unreachable 2001:db8:10::/48 pref low`: notifications",
        &["-6 route add throw 2001:db8:10::/48 metric 1024", "-6 route change unreachable 2001:db8:10::/48 pref low"],
    ),
    (
        "`ip -6 route del blackhole 2001:db8::/64 metric 0`: status kernel 0 nlq 2",
        &["-6 addr add 2001:db8::1/64 dev lo nodad", "link set lo up", "-6 route del blackhole 2001:db8::/64 metric 0"],
    ),
    (
        "`ip -6 route replace prohibit 2001:db8:20::/48 dev lo pref low`: notifications",
        &["-6 route replace prohibit 2001:db8:20::/48 dev lo pref low"],
    ),
    (
        "`ip link set b2 mtu 70000 up`: tables",
        &["-6 addr add fe80::1/64 dev lo", "link set lo name b2", "link set b2 mtu 70000 up"],
    ),
    (
        "`ip link set b2 up`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "link add b2 type bridge", "-6 addr add 2001:db8::1/64 dev b0 nodad", "link set b2 up"],
    ),
    (
        "`ip link set lo up`: tables",
        &["-6 addr add fe80::1/64 dev lo scope site", "link set lo up"],
    ),
    (
        "`ip -6 addr add 2001:db8::1/64 dev lo scope global metric 0`: notifications",
        &["-6 addr add 2001:db8::1/64 dev lo scope global metric 0"],
    ),
    (
        "`ip -6 route add 2001:db8::/64 dev lo pref high`: notifications",
        &["link set lo up", "-6 route add 2001:db8::/64 dev lo pref high"],
    ),
    (
        "`ip -6 route change unreachable 2001:db8:10::/48 metric 100 mtu 1400`: stderr",
        &["-6 route prepend unreachable 2001:db8:10::/48 mtu 1400", "-6 route change unreachable 2001:db8:10::/48 metric 100 mtu 1400"],
    ),
    (
        "`ip link set b1 up`: notifications",
        &["link add b1 type bridge", "-6 addr add 2001:db8:1::1/64 dev b1 metric 0", "link set b1 up"],
    ),
    (
        "`ip link set lo mtu 60`: notifications",
        &["link set lo mtu 576 up", "-6 addr add fe80::1/64 dev lo metric 10", "link set lo mtu 60"],
    ),
    (
        "`ip route del 10.3.0.1/32 table main hoplimit 5`: status kernel 2 nlq 0",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "route prepend 10.3.0.1/32 dev b0 metric 5 scope global", "route del 10.3.0.1/32 table main hoplimit 5"],
    ),
    (
        "`ip route get 10.0.0.77`: stdout",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "addr add 10.0.0.1/24 dev b0 scope site metric 0 broadcast +", "addr add 10.0.0.1/24 dev lo broadcast +", "link set lo up", "route get 10.0.0.77"],
    ),
    (
        "`ip route get 127.0.0.1`: stdout",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "route append local default dev b0 hoplimit 5", "route get 127.0.0.1"],
    ),
    (
        "`ip route get 10.0.0.77`: stdout",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "addr add 10.0.0.1/24 dev b0 scope site metric 0 broadcast +", "addr add 10.0.0.1/24 dev lo broadcast +", "link set lo up", "route show table all", "route get 10.0.0.77"],
    ),
    (
        "`ip -6 route append default via 2001:db8:9::9 src 2001:db8::1`: stderr",
        &["link add b0 type bridge", "link set b0 up", "-6 route add default dev b0 table local pref high", "-6 route append default via 2001:db8:9::9 src 2001:db8::1"],
    ),
    (
        "`ip addr add 127.0.0.2/8 dev lo`: notifications",
        &["link set lo up", "route flush table local", "addr add 127.0.0.2/8 dev lo"],
    ),
    (
        "`ip link set lo mtu 60`: notifications",
        &["addr add 10.0.0.2/24 dev lo noprefixroute", "addr add 10.0.0.1/24 dev lo", "link set lo mtu 60"],
    ),
    (
        "`ip route get 10.0.0.1`: status",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set lo mtu 67", "addr replace 10.0.0.1/24 dev b0", "route get 10.0.0.1"],
    ),
    (
        "`ip route get 10.3.0.1`: stdout",
        &["link set lo up", "addr replace 10.0.0.3/8 dev lo", "route add 10.3.0.1/32 via 10.0.0.254 table main", "route get 10.3.0.1"],
    ),
    (
        "`ip -d link show`, `ip -6 link show`: stdout, dumps",
        &["link add b0 type bridge", "link add b1 address 02:00:00:00:00:01 type bridge", "link set b0 up", "link set b1 up", "link set lo up", "link set b1 address 02:00:00:00:00:02", "link set b0 down", "-d link show", "link set b0 up", "link set lo mtu 1000", "-6 link show", "link set lo mtu 1500", "-d link show"],
    ),
    (
        "`ip -6 addr add 2001:db8::2/64 dev b0 metric 0 noprefixroute`: notifications",
        &["link add b0 type bridge", "link set b0 up", "link set b0 address 02:00:00:00:00:02", "-6 addr add 2001:db8::2/64 dev b0 metric 0 noprefixroute"],
    ),
    (
        "`ip -6 addr change 2001:db8::1/64 dev b0 metric 10`: notifications",
        &["link add b0 type bridge", "link set b0 up", "-6 addr change 2001:db8::1/64 dev b0", "-6 addr change 2001:db8::1/64 dev b0 metric 10"],
    ),
    (
        "`ip -6 addr flush dev lo`: notifications",
        &["-6 addr change 2001:db8::2/64 dev lo nodad", "-6 route add prohibit 2001:db8::/64 proto boot", "-6 addr flush dev lo"],
    ),
    (
        "`ip -6 route del 2001:db8:10::/48 onlink metric 0 src 2001:db8::77`: status",
        &["-6 route add blackhole 2001:db8:10::/48 dev lo table main mtu 1400", "-6 route del 2001:db8:10::/48 onlink metric 0 src 2001:db8::77"],
    ),
    (
        "`ip -6 route del prohibit default src 2001:db8::77 mtu 1400`: status",
        &["-6 route add throw default proto static", "-6 route del prohibit default src 2001:db8::77 mtu 1400"],
    ),
    (
        "`ip link set lo mtu 60`: notifications",
        &["link set lo up", "route add unreachable 192.0.2.0/24 src 127.0.0.1", "link set lo mtu 60"],
    ),
    (
        "`ip addr del 10.9.0.1/24 dev lo`: notifications",
        &["link set lo up", "link add b0 type bridge", "link set b0 up", "addr add 10.0.0.1/24 dev b0", "addr add 10.9.0.1/24 dev lo", "route add unreachable 192.0.2.0/24 src 10.9.0.1", "route add 198.51.100.0/24 dev b0 src 10.9.0.1", "route add 198.51.100.0/25 dev b0 src 10.9.0.1", "route add 198.51.100.0/24 dev b0 src 10.9.0.1 table 100", "addr del 10.9.0.1/24 dev lo"],
    ),
    (
        "`ip addr del 10.0.0.2/16 dev b0`: notifications (a secondary's local route)",
        &["link add b0 type bridge", "link set b0 up", "addr add 10.0.0.1/24 dev b0", "-6 addr add 2001:db8::1/64 dev b0 nodad", "addr add 10.0.0.2/16 dev b0", "addr add 10.0.0.1/16 dev b0", "route show table all", "addr del 10.0.0.2/16 dev b0", "route show table all"],
    ),
    (
        "`ip -6 route add 2001:db8:10::/48 via 2001:db8::fe`: status (a gateway through lo)",
        &[
            "-6 addr add 2001:db8::1/64 dev lo",
            "link set lo up",
            "-6 route add 2001:db8:10::/48 via 2001:db8::fe",
        ],
    ),
    (
        "`ip -6 addr replace … noprefixroute`, then `del`: notifications",
        &["link add b0 type bridge", "link set b0 up", "-6 addr add 2001:db8::1/64 dev b0 nodad", "-6 addr replace 2001:db8::1/64 dev b0 nodad noprefixroute", "-6 addr del 2001:db8::1/64 dev b0"],
    ),
    (
        "`ip link set lo mtu 1280`: tables (route MTUs follow the link)",
        &["-6 route add unreachable 2001:db8:10::/48 mtu 1300", "link set lo mtu 1280", "link set lo mtu 1500", "-6 route add unreachable 2001:db8:20::/48 mtu lock 1300", "link set lo mtu 1280"],
    ),
    (
        "`ip -6 route get 2001:db8:10::5`: stdout (source scope)",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "link set lo up", "-6 route add 2001:db8:10::/48 dev b0 metric 0 pref low", "-6 addr replace fe80::1/64 dev lo nodad", "-6 route get 2001:db8:10::5"],
    ),
    (
        "`ip link set lo mtu 60`: tables (no address, no flush)",
        &["route add local default dev lo", "link set lo mtu 60"],
    ),
    (
        "`ip -6 addr replace fe80::1/64 dev b0 noprefixroute`: notifications",
        &["link add b0 address 02:00:00:00:00:0a type bridge", "link set b0 up", "-6 addr replace fe80::1/64 dev b0 scope global", "-6 addr replace fe80::1/64 dev b0 noprefixroute"],
    ),
    (
        "`ip route prepend 10.2.0.0/16 via 10.0.0.1 dev lo onlink hoplimit 5`: status (a gateway main calls broadcast)",
        &["link set lo up", "route append broadcast 10.0.0.0/24 dev lo table main metric 1024", "route prepend 10.2.0.0/16 via 10.0.0.1 dev lo onlink hoplimit 5"],
    ),
    (
        "`ip route get 10.1.2.3 oif b0`: stdout (on-link source)",
        &["link add b0 type bridge", "link set b0 up", "addr add 10.0.1.1/24 dev b0", "addr replace 10.0.0.3/8 dev b0 label b0:1 metric 300 noprefixroute", "route get 10.1.2.3 oif b0"],
    ),
    (
        "`ip route prepend 10.0.0.0/24 via 192.0.2.254 dev lo onlink metric 0 proto kernel src 10.0.0.77`: stderr",
        &[
            "link set lo up",
            "route prepend unreachable default hoplimit 5",
            "route prepend 10.0.0.0/24 via 192.0.2.254 dev lo onlink metric 0 proto kernel src 10.0.0.77",
        ],
    ),
    (
        "`ip route add 10.1.0.0/24 via 192.0.2.1 dev lo onlink`: the link of an onlink gateway only picks the table",
        &[
            "link add b0 type bridge",
            "link set b0 up",
            "link set lo up",
            "addr add 192.0.2.1/24 dev b0",
            "route add 10.1.0.0/24 via 192.0.2.1 dev lo onlink",
            "route add 10.2.0.0/24 via 192.0.2.1 dev b0 onlink",
            "route add 10.3.0.0/24 via 0.1.2.3 dev b0 onlink",
            "route show table all",
        ],
    ),
    (
        "`ip route get 10.0.0.1`: stdout (the source is chosen for the gateway, none here, not for the destination)",
        &[
            "link add b0 type bridge",
            "link set b0 up",
            "route add 10.0.0.0/24 dev b0 metric 100",
            "addr replace 192.0.2.1/24 dev b0 scope link",
            "addr add 10.0.0.3/8 dev b0",
            "route get 10.0.0.1",
            "route add 10.9.0.0/16 via 10.0.0.9 dev b0",
            "route get 10.9.1.1",
        ],
    ),
    (
        "`ip route del blackhole 10.1.0.0/16`: stderr (once a rule was added, creating the local table no longer creates main)",
        &[
            "rule add from 10.1.0.0/16 pref 32765 table 0 suppress_prefixlength 24",
            "link set lo up",
            "route del blackhole 10.1.0.0/16 metric 0 mtu 1400",
        ],
    ),
    (
        "`ip route del throw 192.0.2.0/24`: stderr (a deleted rule splits the tables too)",
        &[
            "rule flush",
            "addr add 10.0.0.2/24 dev lo",
            "route del throw 192.0.2.0/24 src 10.0.0.77",
        ],
    ),
    (
        "`ip route add default via 10.0.0.1`: stderr (the gateway is looked up through the rules)",
        &[
            "addr add 10.0.0.1/24 dev lo scope link",
            "rule del pref 0",
            "route add default via 10.0.0.1 scope global",
        ],
    ),
    (
        "`ip route get 10.0.0.77 oif b0`: status (a rule's refusal, with an output link, sends on the link)",
        &[
            "link add b0 address 02:00:00:00:00:0a type bridge",
            "link set b0 up",
            "rule add pref 32766 prohibit",
            "route get 10.0.0.77 oif b0",
        ],
    ),
    (
        "`ip route get 127.0.0.1`: answer (main unless RTM_F_LOOKUP_TABLE asks for the table)",
        &[
            "rule add to 10.1.0.0/16 fwmark 0x10 pref 32766 blackhole",
            "link set lo up",
            "route get 127.0.0.1",
        ],
    ),
    (
        "`ip -6 route prepend local 2001:db8:30::1/128 dev lo`: notifications (a local route through lo keeps its preference)",
        &[
            "link set lo up",
            "-6 route prepend local 2001:db8:30::1/128 dev lo onlink table 200 proto static pref high",
        ],
    ),
    (
        "rules: every selector, action and error, deletes by selector, gotos, detached links, flush",
        &[
            "link add b0 type bridge",
            "rule add from 10.0.0.0/8 to 192.168.0.0/16 iif b0 oif lo fwmark 0x10/0xff table 100 pref 100 tos 0x10",
            "rule add not from 10.1.0.0/16 lookup main suppress_prefixlength 8 suppress_ifgroup 3 uidrange 5-10 ipproto tcp sport 1000-2000 dport 80 proto static",
            "rule add pref 200 goto 300",
            "rule add prohibit",
            "rule add blackhole pref 50",
            "rule add unreachable realms 3/4",
            "rule add nop",
            "rule add from 1.2.3.4 lookup 5000",
            "rule add iif nosuch lookup 7",
            "rule add from 1.2.3.4 lookup 5000",
            "rule add from 1.2.3.4 lookup 5000 pref 47",
            "rule add pref 300 goto 300",
            "rule add uidrange 10-5",
            "rule add sport 2000-1000",
            "rule add from 2.2.2.2 table 0",
            "rule add tun_id 7 lookup 9",
            "rule add sport 53 lookup 9",
            "rule add l3mdev",
            "rule add pref 300 lookup 5",
            "link set b0 name b1",
            "-d rule show",
            "rule del pref 99",
            "rule del lookup main",
            "rule del fwmark 0x10",
            "rule del pref 777",
            "-6 rule add from 2001:db8::/32 lookup 100 pref 10",
            "-6 rule add table 0",
            "-6 rule add fwmark 5 lookup 9",
            "-6 route show table 9",
            "route show table 9",
            "rule flush",
            "-6 rule flush",
            "rule show",
            "-6 rule show",
        ],
    ),
    (
        "rules: route get through rules, gotos and rejects, IPv4 and IPv6",
        &[
            "link set lo up",
            "link add b0 type bridge",
            "link set b0 up",
            "addr add 10.0.0.1/24 dev b0",
            "route get 127.0.0.1",
            "route add 10.9.0.0/16 via 10.0.0.254 table 100",
            "rule add from all lookup 100 pref 100",
            "route get 127.0.0.1",
            "route get 10.0.0.5",
            "route get 10.9.1.1",
            "rule add to 10.8.0.0/16 prohibit pref 90",
            "route get 10.8.0.1",
            "rule add to 10.7.0.0/16 blackhole pref 91",
            "route get 10.7.0.1",
            "rule add to 10.6.0.0/16 unreachable pref 92",
            "route get 10.6.0.1",
            "rule add pref 10 goto 92",
            "route get 10.7.0.1",
            "rule add fwmark 5 lookup 100 pref 5",
            "route get 10.9.1.1 mark 5",
            "rule del pref 32766",
            "route get 10.0.0.5",
            "rule add iif lo lookup main pref 60",
            "route get 10.0.0.5",
            "-6 addr add 2001:db8::1/64 dev b0 nodad",
            "-6 route add 2001:db8:9::/48 via 2001:db8::fe table 200",
            "-6 rule add to 2001:db8:9::/48 lookup 200 pref 10",
            "-6 route get 2001:db8:9::1",
            "-6 rule add to 2001:db8:8::/48 prohibit pref 11",
            "-6 route get 2001:db8:8::1",
            "-6 rule add to 2001:db8:7::/48 blackhole pref 12",
            "-6 route get 2001:db8:7::1",
            "-6 rule add to 2001:db8:6::/48 unreachable pref 13",
            "-6 route get 2001:db8:6::1",
            "-6 rule del pref 32766",
            "-6 route get 2001:db8::5",
        ],
    ),
    (
        "`ip -6 route get 2001:db8:10::5 mark 0x10`: stderr (deleting IPv6 rules leaves lookups without rules)",
        &[
            "-6 route add prohibit 2001:db8:10::/48 metric 100 proto boot mtu 1400",
            "-6 rule flush",
            "-6 route get 2001:db8:10::5 mark 0x10",
        ],
    ),
    (
        "`ip route get 10.1.2.3`: stderr (an IPv4 route get asks for UDP)",
        &[
            "rule add ipproto udp pref 100 blackhole",
            "route get 10.1.2.3 oif b1 mark 0x1f",
            "route get 10.1.2.3",
            "rule add ipproto tcp pref 90 prohibit",
            "-6 rule add ipproto udp pref 100 prohibit",
            "-6 route get ::1",
        ],
    ),
    (
        "netconf: links created and deleted, MTUs below and above each family's minimum",
        &[
            "link add b0 type bridge",
            "link add b1 mtu 1000 type bridge",
            "link set b0 mtu 60",
            "link set b0 mtu 1279",
            "link set b0 mtu 1500",
            "link set b1 mtu 1280",
            "link set lo mtu 1000",
            "netconf show",
            "link del b0",
            "link del b1",
            "netconf show",
        ],
    ),
    (
        "`ip link del b0`: notifications (IPv4's device goes before IPv6's addresses)",
        &[
            "link add b0 type bridge",
            "-6 addr add 2001:db8:5::1/128 dev b0 scope site noprefixroute",
            "addr add 10.0.0.1/24 dev b0",
            "link del b0",
            "link add b2 address 02:00:00:00:00:02 type bridge",
            "-6 addr add fe80::1/64 dev b2",
            "link set b2 up",
            "addr add 10.0.0.1/24 dev b2",
            "link del b2",
        ],
    ),
    (
        "neighbours: every state, lo's single IPv4 key, types by route, and what flushes them \
         (the last IPv4 address, link down, MAC change, MTU, deletion)",
        &[
            "neigh replace 224.0.0.5 lladdr 02:00:00:00:00:02 nud none dev lo",
            "-6 neigh add ff02::5 dev lo",
            "neigh add 224.0.0.6 dev lo nud noarp",
            "addr change 10.0.0.1/24 dev lo",
            "addr flush dev lo",
            "neigh add 10.0.0.2 lladdr 02:00:00:00:00:01 dev lo",
            "neigh add 10.0.0.3 lladdr 02:00:00:00:00:02 dev lo nud stale",
            "neigh get 10.0.0.2 dev lo",
            "neigh get 0.0.0.0 dev lo",
            "neigh del 10.0.0.2 dev lo",
            "neigh del 0.0.0.0 dev lo",
            "link add b0 address 02:00:00:00:00:0a type bridge",
            "neigh add 10.0.0.9 dev b0",
            "addr add 10.0.0.1/24 dev b0",
            "link set b0 up",
            "neigh add 10.0.0.77 dev b0",
            "neigh add 10.0.0.77 lladdr 02:00:00:00:00:03 dev b0 nud incomplete",
            "neigh add 10.0.0.255 dev b0 nud noarp",
            "neigh add 10.0.0.1 lladdr 02:00:00:00:00:01 dev b0",
            "route add local 10.0.5.0/24 dev lo",
            "neigh add 10.0.5.1 lladdr 02:00:00:00:00:01 dev b0",
            "route add prohibit 10.0.6.0/24",
            "neigh add 10.0.6.1 dev b0",
            "-6 neigh add 2001:db8::2 lladdr 02:00:00:00:00:02 dev b0",
            "-6 neigh add ff02::5 dev b0 nud noarp",
            "neigh change 10.0.0.1 lladdr 02:00:00:00:00:02 dev b0 nud stale",
            "neigh replace 10.0.0.9 lladdr 02:00:00:00:00:02 dev b0 nud failed",
            "neigh show",
            "neigh flush dev b0",
            "neigh show nud permanent",
            "link set b0 address 02:00:00:00:00:01",
            "neigh add 10.0.0.2 lladdr 02:00:00:00:00:01 dev b0",
            "-6 neigh add 2001:db8::2 lladdr 02:00:00:00:00:02 dev b0 protocol static",
            "link set b0 mtu 1000",
            "neigh add 10.0.0.3 lladdr 02:00:00:00:00:01 dev b0",
            "neigh add 10.0.0.77 dev lo",
            "link set lo mtu 60",
            "ntable show",
            "link set lo mtu 65536",
            "ntable show",
            "link set b0 down",
            "neigh add 10.0.0.2 lladdr 02:00:00:00:00:01 dev b0",
            "addr del 10.0.0.1/24 dev b0",
            "neigh add 10.0.0.2 lladdr 02:00:00:00:00:01 dev b0",
            "link del b0",
        ],
    ),
    (
        "`ip -6 addr change … metric 0` keeps the address's metric",
        &[
            "-6 addr add 2001:db8:5::1/128 dev lo scope link metric 300 nodad",
            "-6 addr change 2001:db8:5::1/128 dev lo metric 0 nodad",
            "link set lo up",
            "-6 addr add 2001:db8::1/64 dev lo metric 300 nodad",
            "-6 addr change 2001:db8::1/64 dev lo metric 0 nodad",
            "-6 route show table all",
        ],
    ),
    (
        "nexthop objects: gateways, links, blackholes, groups with weights, ids handed out, \
         routes through them (IPv4 and IPv6), replaces that tell their routes, a delete that \
         shrinks a group, a link going down that takes them",
        &[
            "link set lo up",
            "addr add 10.0.0.1/24 dev lo",
            "nexthop add id 1 via 10.0.0.254 dev lo",
            "nexthop add id 2 dev lo",
            "nexthop add id 3 blackhole",
            "-6 nexthop add id 4 dev lo",
            "nexthop add id 7 group 1/2,5",
            "nexthop add via 127.0.0.2 dev lo",
            "nexthop add dev lo onlink",
            "nexthop add id 9 via 10.0.0.200 dev lo onlink",
            "route add 10.1.0.0/16 nhid 7",
            "route add 10.2.0.0/16 nhid 1",
            "route add 10.3.0.1/32 nhid 3",
            "route add 10.4.0.0/16 nhid 9 scope link",
            "-6 route add 2001:db8:10::/48 nhid 4",
            "-6 route add 2001:db8:20::/48 nhid 1",
            "nexthop show",
            "-d nexthop show",
            "nexthop get id 7",
            "route show",
            "-6 route show",
            "nexthop replace id 1 via 10.0.0.253 dev lo",
            "nexthop replace id 7 group 2",
            "nexthop del id 2",
            "nexthop show groups",
            "nexthop add id 2 group 4",
            "nexthop show dev lo",
            "link set lo down",
            "nexthop show",
            "route show",
            "-6 route show",
        ],
    ),
    (
        "multicast groups as `ip maddr` reads them from /proc (the shim's, not the host's): \
         all-hosts, the bridge's router discovery, solicited-node groups shared by two \
         addresses, what going down and a small MTU take",
        &[
            "link set lo up",
            "link add b0 address 02:00:00:00:00:0a type bridge",
            "maddr show",
            "link set b0 up",
            "-6 addr add 2001:db8::1/64 dev b0 nodad",
            "-6 addr add 2001:db8::2/64 dev b0",
            "-6 addr add 2001:db9::1/64 dev b0 nodad",
            "addr add 10.0.0.1/24 dev b0",
            "maddr show",
            "-6 maddr show dev b0",
            "-4 maddr show",
            "link set b0 down",
            "maddr show",
            "link set b0 mtu 1200",
            "maddr show",
        ],
    ),
    (
        "an IPv6 multipath request tells once, CREATE and APPEND when asked, never EXCL \
         (ip6_route_multipath_add)",
        &[
            "link add b0 type bridge",
            "link set b0 up",
            "link add b1 address 02:00:00:00:00:01 type bridge",
            "-6 addr change 2001:db8:1::1/64 dev b0",
            "link set b1 up",
            "-6 route append 2001:db8:30::1/128 nexthop via 2001:db8:1::fe nexthop via fe80::fe dev b1",
            "-6 route add 2001:db8:20::/48 nexthop via 2001:db8:1::fe nexthop via 2001:db8:1::fd",
            "-6 route append 2001:db8:20::/48 nexthop via 2001:db8:1::fc",
        ],
    ),
    (
        "an IPv6 address going takes itself out of the routes that prefer it as their source \
         (rt6_remove_prefsrc), silently, unless another link still has it",
        &[
            "link add b0 address 02:00:00:00:00:0a type bridge",
            "link set b0 up",
            "-6 addr add 2001:db8::1/64 dev lo scope link",
            "-6 route replace 2001:db8:30::1/128 via fe80::fe dev b0 scope host src 2001:db8::1 mtu 1400",
            "-6 addr add 2001:db8::1/64 dev b0 nodad",
            "-6 addr del 2001:db8::1/64 dev lo",
            "-6 addr del 2001:db8::1/64 dev b0",
            "-6 route show",
        ],
    ),
    (
        "deleting a primary IPv4 address makes the main table (fib_magic deletes its prefix \
         route, there or not), which custom rules had kept apart",
        &[
            "link add b0 type bridge",
            "rule flush",
            "link add b1 mtu 1279 type bridge",
            "addr add 192.0.2.1/24 dev b1 scope global label b1:0 broadcast +",
            "route flush dev b0",
            "link del b1",
            "route flush dev b0",
        ],
    ),
    (
        "a link going away: each IPv4 address's routes preferring it as source go before the next address (fib_del_ifaddr's fib_sync_down_addr); an IPv4 blackhole nexthop wants lo's IPv4 device",
        &[
            "link add b0 type bridge",
            "addr add 10.0.0.1/24 dev b0 scope host broadcast +",
            "addr add 192.0.2.1/24 dev b0 scope host",
            "link set b0 up",
            "route change throw 192.0.2.0/24 proto boot src 10.0.0.1",
            "link del b0",
            "link set lo mtu 60",
            "nexthop add id 2 blackhole",
            "link set lo mtu 65536",
            "link set lo up",
            "nexthop add id 2 blackhole",
        ],
    ),
    (
        "veth pairs: the peer first, untied; carrier while both ends are up, the link watcher's \
         state after; a peer without attributes of its own takes the link's MTU; attributes \
         checked before the name is looked up; IPv6 multipath: a hop given twice fails before \
         later hops are looked at",
        &[
            "link add b1 mtu 1280 type veth",
            "link add v0 type veth peer name v1",
            "link add v0 mtu 70000 type veth peer name v1",
            "link add v0 type veth peer name v1 address 01:00:5e:00:00:01",
            "link add v2 type veth peer name v2",
            "link set v0 up",
            "-6 addr add 2001:db8:1::1/64 dev v0",
            "-6 route add 2001:db8:30::1/128 nexthop via 2001:db8:1::fe nexthop via 2001:db8:1::fe dev v0 nexthop via 2001:db8:9::9",
            "link set v1 up",
            "addr add 10.0.0.1/24 dev v1",
            "link set v0 down",
            "link add v3 up type veth peer name v4 mtu 1400",
            "link del v1",
            "link del v4",
        ],
    ),
    (
        "a nexthop without an id uses one up before its checks fail (nexthop_add hands it out \
         first); duplicate address detection ending on two links at once",
        &[
            "link set lo up",
            "nexthop add via 2001:db8:9::9 dev lo proto static",
            "nexthop add blackhole proto static",
            "link add v0 type veth peer name v1",
            "link set v0 up",
            "-6 addr add 2001:db8:1::1/64 dev v0",
            "link set v1 up",
        ],
    ),
    (
        "VXLAN links: the lower link told of its upper, the MTU its lower link allows, the \
         VNI taken per port, the driver telling of the link before opening it, the kind's \
         checks before the name is looked up, and the tunnels going with their lower link",
        &[
            "link add b0 type bridge",
            "link add v0 type veth peer name v1",
            "link add x0 type vxlan id 42 dstport 4789 dev b0",
            "link add x1 mtu 9000 type vxlan id 43 dstport 4789 remote 2001:db8::9 dev v0",
            "link add x2 up type vxlan id 42 dstport 4789",
            "link add x2 up type vxlan id 42 dstport 4790 local 10.0.0.1 ttl 5 nolearning",
            "link add x3 type vxlan id 44 dstport 4789 srcport 2000 1000",
            "link add x0 type vxlan id 44 dstport 4789 srcport 2000 1000",
            "link add x3 type vxlan id 45 dstport 0 dev lo ttl inherit",
            "link set x0 mtu 1451",
            "link set x0 mtu 1450 up",
            "link set b0 mtu 1400",
            "link del x3",
            "link del b0",
            "link del v1",
            "-d link show",
        ],
    ),
    (
        "an IPv6 delete by nexthop id passes over the null entry (ESRCH, not ENOENT)",
        &[
            "link set lo up",
            "nexthop add id 3 blackhole",
            "-6 route del default nhid 3",
        ],
    ),
    (
        "IPv6 source selection: ::1 has link-local scope, so the output link's ::1 beats a \
         link-local address elsewhere",
        &[
            "link set lo up",
            "link add b0 type bridge",
            "link set b0 up",
            "-6 route replace default dev lo metric 0 mtu 1400",
            "-6 route get 2001:db8:30::1",
        ],
    ),
    (
        "an address on lo changing metric replaces its local prefix route in the local table",
        &[
            "link set lo up",
            "addr add 10.0.0.2/24 dev lo metric 300",
            "addr replace 10.0.0.2/24 dev lo",
        ],
    ),
    (
        "an onlink IPv6 gateway is checked against the main table, whatever the route's table",
        &[
            "link add b0 type bridge",
            "link set b0 up",
            "link add v0 type veth peer name v1",
            "link set v0 up",
            "-6 addr change 2001:db8::2/64 dev b0 nodad",
            "-6 route add 2001:db8::/64 via 2001:db8::fe dev v0 onlink table 200 hoplimit 5",
        ],
    ),
    (
        "an IPv4 replace is refused when an identical route waits later among the aliases",
        &[
            "link set lo up",
            "route replace blackhole 10.2.0.0/16",
            "route append throw 10.2.0.0/16",
            "route replace throw 10.2.0.0/16",
            "route replace blackhole 10.2.0.0/16",
        ],
    ),
    (
        "macvlans: made on a veth end without carrier, opened, given carrier through the \
         lower link (the link watcher's next run), following its MTU, deleted, killed with it",
        &[
            "link add v0 type veth peer name v1",
            "link add m0 link v0 type macvlan mode bridge",
            "link set m0 up",
            "link set v0 up",
            "link set v1 up",
            "link add m1 link v0 type macvlan",
            "link set m1 up",
            "maddr show",
            "link set v0 mtu 1400",
            "link del m0",
            "link del v0",
        ],
    ),
    (
        "macvlans: made up, on another macvlan (its lower link), on a VXLAN link; refusals \
         of MTU, lower link, passthru beside others; the lower link going down and up",
        &[
            "link set lo up",
            "link add b0 type bridge",
            "link set b0 up",
            "link add m0 link b0 up type macvlan mode private",
            "link add m1 link m0 type macvlan bcqueuelen 2000",
            "link add m2 link b0 mtu 1600 type macvlan",
            "link add m2 link b0 mtu 67 type macvlan",
            "link add m2 link lo type macvlan",
            "link add m2 type macvlan",
            "link add m2 link b0 type macvlan mode passthru",
            "link add x0 type vxlan id 7 dstport 4789",
            "link add m3 link x0 type macvlan mode vepa nodst",
            "link set m1 up",
            "link set m3 up",
            "link set x0 up",
            "maddr show",
            "addr add 10.9.0.1/24 dev m0",
            "link set b0 down",
            "link set m1 mtu 1600",
            "link set b0 mtu 1300",
            "link set m1 down",
            "link set b0 up",
            "link del m0",
            "link del x0",
        ],
    ),
    (
        "a link that was ready takes its IPv6 groups off its link-layer list as it goes down \
         (`ipv6_mc_down`) and puts them back, newest first, after what its opening brought, \
         once ready again (`ipv6_mc_up`)",
        &[
            "link add b0 type bridge",
            "link set b0 up",
            "link set b0 down",
            "maddr show",
            "link set b0 up",
            "addr add 2001:db8::1/64 dev b0 nodad",
            "link add v0 type veth peer name v1",
            "link set v0 up",
            "link set v1 up",
            "link set v0 down",
            "maddr show",
            "link set v0 up",
            "maddr show",
        ],
    ),
    (
        "bridge ports: a veth end joins a bridge that is down, comes up, gets carrier, the \
         bridge comes up (the port forwards, the bridge gets carrier), the port leaves (the \
         bridge's MAC goes back to zeros)",
        &[
            "link add b0 type bridge",
            "link add v0 address 02:00:00:00:0a:01 type veth peer name v1 address 02:00:00:00:0a:02",
            "link set v0 master b0",
            "link set v0 up",
            "link set v1 up",
            "link set b0 up",
            "maddr show",
            "link set v0 nomaster",
        ],
    ),
    (
        "bridge ports: several of different kinds (MTU, headroom, offload limit, features \
         and MAC of the bridge from them), one deleted, the last released",
        &[
            "link add b0 type bridge",
            "link set b0 up",
            "link add v0 address 02:00:00:00:0a:01 type veth peer name v1 address 02:00:00:00:0a:02",
            "link add v2 address 02:00:00:00:0a:09 type veth peer name v3 address 02:00:00:00:0a:0a",
            "link set v0 up",
            "link set v1 up",
            "link set v2 mtu 1400",
            "link set v0 master b0",
            "link set v2 master b0",
            "link add x0 address 02:00:00:00:0a:03 type vxlan id 5 dstport 4789",
            "link set x0 master b0",
            "link set v0 mtu 1300",
            "link set v2 down",
            "link set v2 nomaster",
            "link del v0",
            "link set x0 nomaster",
        ],
    ),
    (
        "bridge ports: a bridge with its own MAC, a port made with its master, a macvlan port, \
         refusals (a macvlan's lower link, a bridge, lo, a link that is no bridge), a port \
         moved to another bridge, the bridge deleted with its ports",
        &[
            "link add b0 address 02:00:00:00:00:01 type bridge",
            "link add v0 address 02:00:00:00:0a:01 master b0 type veth peer name v1 address 02:00:00:00:0a:02",
            "link set v0 up",
            "link set b0 up",
            "link set v1 up",
            "link set v1 down",
            "link set b0 down",
            "link add v2 address 02:00:00:00:0a:09 type veth peer name v3 address 02:00:00:00:0a:0a",
            "link add m0 address 02:00:00:00:0a:05 link v2 type macvlan",
            "link set m0 master b0",
            "link set v2 master b0",
            "link set b0 master b0",
            "link set lo master b0",
            "link set v3 master v2",
            "link add b1 type bridge",
            "link set m0 master b1",
            "link add m1 link v0 type macvlan",
            "link set b0 up",
            "link set v1 up",
            "link del b0",
        ],
    ),
    (
        "an IPv6 multipath replace is told as a replace even of nothing, and one next hop \
         given as a list makes a route of its own (gateway and link, no RTA_MULTIPATH)",
        &[
            "link add v0 address 02:00:00:00:0a:01 type veth peer name v1 address 02:00:00:00:0a:02",
            "link set v0 up",
            "link set v1 up",
            "-6 addr add 2001:db8:1::1/64 dev v1 nodad",
            "-6 route replace local 2001:db8:20::/48 nexthop via 2001:db8:1::fe nexthop via fe80::fe dev v0",
            "-6 route replace 2001:db8:21::/48 nexthop via 2001:db8:1::fe nexthop via fe80::fe dev v0",
            "-6 route append 2001:db8:22::/48 nexthop via 2001:db8:1::fe nexthop via fe80::fe dev v0",
            "-6 route replace 2001:db8:22::/48 nexthop via 2001:db8:1::fe",
        ],
    ),
    (
        "an open macvlan passes the promiscuity and all-multicast it gets as a bridge port on \
         to its lower link (told first), and gives them back when it closes, leaves or goes",
        &[
            "link add v1 address 02:00:00:00:0a:02 type veth peer name v0 address 02:00:00:00:0a:01",
            "link add m0 link v0 address 02:00:00:00:0a:05 up type macvlan mode private",
            "link add b0 address 02:00:00:00:00:01 type bridge",
            "link set m0 master b0",
            "link set m0 nomaster",
            "link set m0 down",
            "link set m0 up",
            "link set m0 master b0",
            "link set v0 up",
            "link set m0 down",
            "link set m0 up",
            "link show v0",
            "link del m0",
            "link show v0",
            "link add m1 link v0 address 02:00:00:00:0a:06 up type macvlan mode private",
            "link set m1 master b0",
            "link set v0 down",
            "link set m1 nomaster",
            "link del v0",
        ],
    ),
    (
        "`ip -6 route get` through a local route on another link: the source is chosen for \
         the route's link (its link-local address), not for `lo`",
        &[
            "link set lo up",
            "link add b0 type bridge",
            "link set b0 up",
            "-6 route append local default dev b0",
            "-6 route get 2001:4860::1",
            "-6 addr add 2001:db8::5/64 dev b0 nodad",
            "-6 route get 2001:4860::1",
            "-6 route add local 2001:db8:9::/64 dev lo",
            "-6 route get 2001:db8:9::1",
        ],
    ),
    (
        "`ip link set v1 master b0 up`: the link watcher runs after the whole request (the \
         port joins first, then IPv6 and the bridge hear the carrier)",
        &[
            "link add b0 type bridge",
            "link add v0 address 02:00:00:00:0a:01 type veth peer name v1 address 02:00:00:00:0a:02",
            "link set v0 up",
            "link set v1 master b0 up",
            "link set v1 nomaster down",
            "link set v1 up master b0 mtu 1400",
            "link set v0 down",
            "link set b0 up",
            "link set v0 up",
        ],
    ),
    (
        "`ip link add i0 … type ifb`: notifications (an ifb has no ARP when its IPv6 device is \
         made: accept_dad -1)",
        &[
            "link add i0 address 02:00:00:00:0a:09 type ifb",
            "link set i0 up",
            "link set i0 mtu 1000",
            "link set i0 mtu 1500",
        ],
    ),
    (
        "`ip link add i0 … mtu 60 type ifb`: notifications (a link made below 68 bytes has \
         IPv4 until its MTU changes)",
        &[
            "link add i0 address 02:00:00:00:0a:09 mtu 60 type ifb",
            "addr add 10.0.0.1/24 dev i0",
            "link set i0 up",
            "link set i0 mtu 50",
            "addr add 10.0.0.2/24 dev i0",
            "link set i0 mtu 1500",
        ],
    ),
    (
        "`ip addr add 10.0.0.2/24 dev b0 label b0:2`: notifications (a broadcast address's \
         neighbour entry without a link-layer address goes, `arp_invalidate`)",
        &[
            "link add b0 address 02:00:00:00:00:0a type bridge",
            "link set b0 up",
            "neigh replace 10.0.0.255 lladdr 02:00:00:00:00:01 nud failed dev b0",
            "neigh replace 10.0.1.255 lladdr 02:00:00:00:00:01 nud incomplete dev b0",
            "neigh replace 10.0.2.255 lladdr 02:00:00:00:00:01 nud stale dev b0",
            "addr add 10.0.0.2/24 dev b0 label b0:2",
            "addr add 10.0.1.2/24 dev b0",
            "addr add 10.0.2.2/24 dev b0",
        ],
    ),
    (
        "`ip addrlabel list`: answers (the IPv6 address label policy of a fresh namespace)",
        &["addrlabel list", "-4 addrlabel list"],
    ),
];
