/**
 * Captures real kernel replies into this folder as hex (one message per line). Run as root from the repository
 * root: `deno run -A agent/netlink/testdata/capture.ts`. It works only inside a throwaway namespace that it
 * creates with `ip netns add` and deletes at the end.
 *
 * @module
 */
import { check, lib, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_RAW, withNetns } from "../../libc/mod.ts";
import { encodeMessage, parseMessages } from "../codec.ts";
import {
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  SOL_NETLINK,
} from "../consts.ts";
import { addrDumpRequest } from "../addr.ts";
import { linkAddRequest, linkDumpRequest } from "../link.ts";
import { neighDumpRequest } from "../neigh.ts";
import { routeDumpRequest, routeRequest } from "../route.ts";
import type { NetlinkRequest } from "../request.ts";

const ns = `fltcap${Date.now() % 100000}`;
const sh = (...args: string[]) => {
  const out = new Deno.Command(args[0]!, { args: args.slice(1) }).outputSync();
  if (!out.success) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
};
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

sh("ip", "netns", "add", ns);
try {
  const ip = (...a: string[]) => sh("ip", "-n", ns, ...a);
  ip("link", "set", "lo", "up");
  ip("link", "add", "eth1", "type", "veth", "peer", "name", "eth1p");
  ip("link", "set", "eth1", "up");
  ip("addr", "add", "10.199.0.1/24", "dev", "eth1");
  ip("addr", "add", "fd00:199::1/64", "dev", "eth1", "nodad");
  ip(
    "link",
    "add",
    "flannel.1",
    "type",
    "vxlan",
    "id",
    "1",
    "local",
    "10.199.0.1",
    "dev",
    "eth1",
    "dstport",
    "8472",
    "nolearning",
    "gbp",
  );
  ip("link", "set", "flannel.1", "up");
  ip("link", "add", "br0", "type", "bridge");
  ip("route", "add", "10.42.7.0/24", "via", "10.42.7.0", "dev", "flannel.1", "onlink");
  ip("route", "add", "10.44.0.0/16", "via", "10.199.0.2", "metric", "100", "mtu", "1400");
  ip("route", "add", "fd00:42::/64", "via", "fd00:199::2");
  ip("neigh", "add", "10.42.7.0", "lladdr", "72:24:08:c1:71:25", "dev", "flannel.1", "nud", "permanent");
  ip("neigh", "add", "fd00:199::9", "lladdr", "02:00:00:00:00:09", "dev", "eth1", "nud", "permanent");
  sh(
    "bridge",
    "-n",
    ns,
    "fdb",
    "add",
    "72:24:08:c1:71:25",
    "dev",
    "flannel.1",
    "dst",
    "10.199.0.2",
    "self",
    "permanent",
  );

  const c = lib();
  const fd = withNetns(ns, () => check("socket", c.socket(16, SOCK_RAW | SOCK_CLOEXEC, 0)));
  const opt = (name: number) => {
    const v = new Uint8Array([1, 0, 0, 0]);
    check("setsockopt", c.setsockopt(fd, SOL_NETLINK, name, v, 4));
  };
  opt(NETLINK_EXT_ACK);
  opt(NETLINK_CAP_ACK);
  opt(NETLINK_GET_STRICT_CHK);
  const sa = new Uint8Array(12);
  sa[0] = 16;
  check("bind", c.bind(fd, sa, 12));
  const buf = new Uint8Array(1 << 20);
  let seq = 1;
  const exchange = (req: NetlinkRequest, dump: boolean): string[] => {
    const flags = req.flags | NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK);
    const msg = encodeMessage({ type: req.type, flags, seq: ++seq, pid: 0 }, req.payload);
    check("sendto", c.sendto(fd, msg, BigInt(msg.length), 0, sa, 12));
    const lines: string[] = [];
    for (;;) {
      const n = Number(c.recv(fd, buf, BigInt(buf.length), MSG_DONTWAIT));
      if (n < 0) throw new Error("no reply");
      for (const m of parseMessages(buf.subarray(0, n))) {
        lines.push(hex(encodeMessage(m.header, m.payload)));
        if (m.header.type === NLMSG_DONE || m.header.type === NLMSG_ERROR) return lines;
      }
    }
  };
  const write = (name: string, lines: string[]) =>
    Deno.writeTextFileSync(new URL(name, import.meta.url), lines.join("\n") + "\n");
  write("link_dump.hex", exchange(linkDumpRequest(), true));
  write("addr_dump.hex", exchange(addrDumpRequest(), true));
  write("route_dump.hex", exchange(routeDumpRequest({ table: 0 }), true));
  write("neigh_dump.hex", exchange(neighDumpRequest(0), true));
  write("fdb_dump.hex", exchange(neighDumpRequest(7), true));
  write(
    "error_eexist.hex",
    exchange(routeRequest("add", { dst: "10.44.0.0/16", gateway: "10.199.0.2", priority: 100 }), false),
  );
  write(
    "error_enetunreach_extack.hex",
    exchange(routeRequest("add", { dst: "10.45.0.0/16", gateway: "10.9.9.9" }), false),
  );
  write(
    "error_enodev.hex",
    exchange(linkAddRequest({ name: "vx9", kind: "vxlan", vxlan: { vni: 9, link: 99 } }), false),
  );
  write("ack.hex", exchange(routeRequest("add", { dst: "10.46.0.0/16", gateway: "10.199.0.2" }), false));
  c.close(fd);
} finally {
  sh("ip", "netns", "del", ns);
}
