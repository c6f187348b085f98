"""pyroute2's IPRoute API over links, addresses, routes, rules and
neighbours: every answer printed whole (parsed messages, errors by errno),
so that the kernel's and nlq's can be compared as text."""
import json
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

# Values that differ from run to run (timers, random times, traffic
# counters, the kernel's own IGMP neighbours), masked wherever they nest.
RANDOM = {'IFLA_STATS', 'IFLA_STATS64', 'IFLA_INET6_STATS', 'IFLA_INET6_ICMP6STATS',
          'IFLA_INET6_CACHEINFO', 'IFLA_BR_GC_TIMER', 'IFA_CACHEINFO',
          'RTA_CACHEINFO', 'NDA_CACHEINFO'}

def plain(v):
    if hasattr(v, 'get') and 'attrs' in v:
        return {'fields': {k: plain(x) for k, x in v.items() if k not in ('attrs', 'header', 'event')},
                'attrs': [(n, '<masked>' if n in RANDOM else plain(x)) for n, x, *_ in v['attrs']]}
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (int, str, float, bool)) or v is None:
        return v
    return repr(v)

def shown(msgs):
    out = []
    for m in msgs:
        if m.get('family') == 2 and m['header']['type'] == 28 and str(m.get_attr('NDA_DST', '')).startswith('224.'):
            continue
        d = plain(m)
        d['type'] = m['header']['type']
        out.append(d)
    return out

out = []
def step(name, f):
    try:
        r = f()
        out.append([name, 'ok', shown(r) if r is not None else None])
    except NetlinkError as e:
        out.append([name, 'error', e.code])

with IPRoute() as ipr:
    step('lo up', lambda: ipr.link('set', index=1, state='up'))
    step('add bridge', lambda: ipr.link('add', ifname='br0', kind='bridge', address='02:00:00:00:00:01'))
    br = ipr.link_lookup(ifname='br0')[0]
    step('add veth', lambda: ipr.link('add', ifname='v0', kind='veth', address='02:00:00:00:00:02',
                                      peer={'ifname': 'v1', 'address': '02:00:00:00:00:03'}))
    v0 = ipr.link_lookup(ifname='v0')[0]
    step('add ifb', lambda: ipr.link('add', ifname='i0', kind='ifb', address='02:00:00:00:00:04'))
    step('add vxlan', lambda: ipr.link('add', ifname='x0', kind='vxlan', vxlan_id=42, vxlan_port=4789,
                                       address='02:00:00:00:00:05'))
    step('add macvlan', lambda: ipr.link('add', ifname='m0', kind='macvlan', link=v0,
                                         macvlan_mode='bridge', address='02:00:00:00:00:06'))
    step('bridge up, mtu', lambda: ipr.link('set', index=br, state='up', mtu=1400))
    step('veth to bridge', lambda: ipr.link('set', index=v0, master=br))
    step('peer to bridge', lambda: ipr.link('set', ifname='v1', master=br))
    step('veth up', lambda: ipr.link('set', index=v0, state='up'))
    step('ifb address', lambda: ipr.link('set', ifname='i0', address='02:00:00:00:00:07'))
    step('addr', lambda: ipr.addr('add', index=br, address='10.1.0.1', prefixlen=24))
    step('addr brd', lambda: ipr.addr('add', index=br, address='10.1.1.1', prefixlen=24, broadcast='10.1.1.255'))
    step('addr again', lambda: ipr.addr('add', index=br, address='10.1.0.1', prefixlen=24))
    step('addr replace', lambda: ipr.addr('replace', index=br, address='10.1.0.1', prefixlen=24))
    step('addr6 nodad', lambda: ipr.addr('add', index=br, address='2001:db8::1', prefixlen=64, flags=0x02))
    step('route', lambda: ipr.route('add', dst='10.20.0.0/16', gateway='10.1.0.254'))
    step('route metric', lambda: ipr.route('add', dst='10.21.0.0/16', gateway='10.1.0.254', priority=10))
    step('route replace', lambda: ipr.route('replace', dst='10.21.0.0/16', gateway='10.1.1.254', priority=10))
    step('route table', lambda: ipr.route('add', dst='10.22.0.0/16', gateway='10.1.0.254', table=100))
    step('route multipath', lambda: ipr.route('add', dst='10.23.0.0/16',
                                              multipath=[{'gateway': '10.1.0.253'}, {'gateway': '10.1.1.253', 'hops': 2}]))
    step('route blackhole', lambda: ipr.route('add', dst='10.24.0.0/16', type='blackhole'))
    step('route unreachable gateway', lambda: ipr.route('add', dst='10.25.0.0/16', gateway='10.99.0.1'))
    step('route6', lambda: ipr.route('add', dst='2001:db8:5::/48', gateway='2001:db8::fe'))
    step('route metrics', lambda: ipr.route('add', dst='10.26.0.0/16', gateway='10.1.0.254',
                                            metrics={'mtu': 1300, 'hoplimit': 5}))
    step('rule', lambda: ipr.rule('add', table=100, priority=100, src='10.1.0.0', src_len=16))
    step('neighbour', lambda: ipr.neigh('add', dst='10.1.0.7', lladdr='02:00:00:00:00:09', ifindex=br, state=128))
    step('links', lambda: ipr.get_links())
    step('link', lambda: ipr.get_links(br))
    step('addresses', lambda: ipr.get_addr())
    step('bridge addresses', lambda: ipr.get_addr(family=2, index=br))
    step('routes', lambda: ipr.get_routes(family=2))
    step('table 100', lambda: ipr.get_routes(family=2, table=100))
    step('routes6', lambda: ipr.get_routes(family=10))
    step('route get', lambda: ipr.route('get', dst='10.20.1.1'))
    step('route get6', lambda: ipr.route('get', dst='2001:db8:5::1'))
    step('rules', lambda: ipr.get_rules())
    step('neighbours', lambda: ipr.get_neighbours(family=2))
    step('del route', lambda: ipr.route('del', dst='10.20.0.0/16', gateway='10.1.0.254'))
    step('del route again', lambda: ipr.route('del', dst='10.20.0.0/16', gateway='10.1.0.254'))
    step('del addr', lambda: ipr.addr('del', index=br, address='10.1.1.1', prefixlen=24))
    step('flush addresses', lambda: ipr.flush_addr(index=br))
    step('del veth', lambda: ipr.link('del', index=v0))
    step('links at the end', lambda: ipr.get_links())
    step('routes at the end', lambda: ipr.get_routes(family=2))
print(json.dumps(out, indent=1, sort_keys=True))
