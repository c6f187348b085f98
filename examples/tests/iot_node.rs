//! Runs the `iot_node` example: a smoltcp node on a TAP device in a
//! network namespace of its own, configured over rtnetlink, pinged and
//! connected to by the kernel, its replies rerouted over rtnetlink.
//!
//! It needs root (or unprivileged user namespaces) and `/dev/net/tun`.
//! Without them the example says it skipped; this test then skips too,
//! with the reason, unless `CI=true`, where it fails.

use std::process::Command;

#[test]
fn iot_node_answers_and_follows_its_routes() {
    let out = Command::new(env!("CARGO_BIN_EXE_iot_node"))
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    if let Some(why) = stdout
        .lines()
        .find_map(|l| l.strip_prefix("iot_node: skipped: "))
    {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "CI must run iot_node, which skipped: {why}");
        println!("skipping the iot_node test: {why}");
        return;
    }
    assert!(out.status.success(), "iot_node failed: {stderr}");
    for line in [
        "host: ping 10.0.0.2 from 10.0.0.1: reply",
        "host: tcp echo 10.0.0.2:7: 26 bytes back",
        "the node without a route: no reply",
        "route add default via 10.0.0.11: ping 10.0.0.2 from 192.0.2.1: reply, the node resolved [10.0.0.11]",
        "route replace default via 10.0.0.12: ping 10.0.0.2 from 192.0.2.1: reply, the node resolved [10.0.0.12]",
        "iot_node: all checks passed",
    ] {
        assert!(stdout.contains(line), "missing {line:?}");
    }
}
