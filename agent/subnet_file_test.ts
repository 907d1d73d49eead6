import assert from "node:assert/strict";
import fc from "fast-check";
import { formatCidr, parseCidr } from "./ip.ts";
import {
  parsePreviousSubnets,
  type PreviousSubnets,
  readPreviousSubnets,
  renderSubnetEnv,
  writeSubnetFile,
} from "./subnet_file.ts";

function show(p: PreviousSubnets): Record<string, string> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, formatCidr(v)]));
}

Deno.test("renderSubnetEnv writes upstream's bytes for IPv4 (measured file)", () => {
  assert.equal(
    renderSubnetEnv({
      network: parseCidr("10.42.0.0/16"),
      subnet: parseCidr("10.42.10.0/24"),
      mtu: 1450,
      ipMasq: false,
    }),
    "FLANNEL_NETWORK=10.42.0.0/16\nFLANNEL_SUBNET=10.42.10.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
  );
});

Deno.test("renderSubnetEnv writes dual-stack and IPv6-only files in upstream's order", () => {
  const dual = renderSubnetEnv({
    network: parseCidr("10.42.0.0/16"),
    subnet: parseCidr("10.42.10.0/24"),
    ipv6Network: parseCidr("fc00::/48"),
    ipv6Subnet: parseCidr("fc00:0:0:1::/64"),
    mtu: 1450,
    ipMasq: true,
  });
  assert.equal(
    dual,
    "FLANNEL_NETWORK=10.42.0.0/16\nFLANNEL_SUBNET=10.42.10.1/24\n" +
      "FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:1::1/64\n" +
      "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
  );
  assert.equal(
    renderSubnetEnv({
      ipv6Network: parseCidr("fc00::/48"),
      ipv6Subnet: parseCidr("fc00::/64"),
      mtu: 1500,
      ipMasq: false,
    }),
    "FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n",
  );
  assert.equal(renderSubnetEnv({ mtu: 0, ipMasq: false }), "FLANNEL_MTU=0\nFLANNEL_IPMASQ=false\n");
});

Deno.test("renderSubnetEnv: the subnet's first address, even across an octet", () => {
  const text = renderSubnetEnv({
    network: parseCidr("10.0.0.0/8"),
    subnet: parseCidr("10.0.255.255/32"),
    mtu: 1472,
    ipMasq: false,
  });
  assert.match(text, /^FLANNEL_SUBNET=10\.1\.0\.0\/32$/m);
  // Go's uint32 wraps; so do we rather than throw.
  assert.match(
    renderSubnetEnv({
      network: parseCidr("0.0.0.0/0"),
      subnet: parseCidr("255.255.255.255/32"),
      mtu: 1,
      ipMasq: true,
    }),
    /^FLANNEL_SUBNET=0\.0\.0\.0\/32$/m,
  );
});

Deno.test("renderSubnetEnv refuses half a family and a bad MTU", () => {
  assert.throws(
    () => renderSubnetEnv({ network: parseCidr("10.0.0.0/8"), mtu: 1450, ipMasq: false }),
    TypeError,
  );
  assert.throws(
    () => renderSubnetEnv({ ipv6Subnet: parseCidr("fc00::/64"), mtu: 1450, ipMasq: false }),
    TypeError,
  );
  assert.throws(() => renderSubnetEnv({ mtu: 1450.5, ipMasq: false }), TypeError);
  assert.throws(() => renderSubnetEnv({ mtu: -1, ipMasq: false }), TypeError);
});

Deno.test("parsePreviousSubnets reads what renderSubnetEnv writes, masked to network addresses", () => {
  const text = renderSubnetEnv({
    network: parseCidr("10.42.0.0/16"),
    subnet: parseCidr("10.42.10.0/24"),
    ipv6Network: parseCidr("fc00::/48"),
    ipv6Subnet: parseCidr("fc00:0:0:1::/64"),
    mtu: 1450,
    ipMasq: true,
  });
  assert.deepEqual(show(parsePreviousSubnets(text)), {
    network: "10.42.0.0/16",
    subnet: "10.42.10.0/24",
    ipv6Network: "fc00::/48",
    ipv6Subnet: "fc00:0:0:1::/64",
  });
});

Deno.test("parsePreviousSubnets accepts godotenv syntax: comments, quotes, export, colons, CRLF", () => {
  const text = [
    "# written by hand",
    "   ",
    "export FLANNEL_NETWORK=10.42.0.0/16   # trailing comment",
    "FLANNEL_SUBNET = '10.42.10.1/24'",
    'FLANNEL_IPV6_NETWORK="fc00::/48"',
    "FLANNEL_IPV6_SUBNET: fc00:0:0:1::1/64\r",
    "FLANNEL_MTU=1450",
  ].join("\r\n");
  assert.deepEqual(show(parsePreviousSubnets(text)), {
    network: "10.42.0.0/16",
    subnet: "10.42.10.0/24",
    ipv6Network: "fc00::/48",
    ipv6Subnet: "fc00:0:0:1::/64",
  });
});

Deno.test("parsePreviousSubnets takes the last assignment and ignores garbage lines", () => {
  const text = [
    "FLANNEL_SUBNET=10.42.9.1/24",
    "this line is garbage!",
    "=no key",
    'QUOTE="unterminated',
    "FLANNEL_SUBNET=10.42.10.1/24",
    "ALSO GARBAGE",
  ].join("\n");
  assert.deepEqual(show(parsePreviousSubnets(text)), { subnet: "10.42.10.0/24" });
});

Deno.test("parsePreviousSubnets: comma lists count only the parts that parse, as upstream", () => {
  // Two valid CIDRs → absent; one valid among garbage → that one (upstream skips unparseable parts).
  assert.deepEqual(show(parsePreviousSubnets("FLANNEL_SUBNET=10.42.10.1/24,10.42.11.1/24\n")), {});
  assert.deepEqual(show(parsePreviousSubnets("FLANNEL_SUBNET=10.42.10.1/24,junk\n")), {
    subnet: "10.42.10.0/24",
  });
  assert.deepEqual(show(parsePreviousSubnets("FLANNEL_SUBNET=10.42.10.1/24,\n")), {
    subnet: "10.42.10.0/24",
  });
  // Parts are not trimmed: " 10.42.11.1/24" does not parse.
  assert.deepEqual(show(parsePreviousSubnets("FLANNEL_SUBNET='10.42.10.1/24, 10.42.11.1/24'\n")), {
    subnet: "10.42.10.0/24",
  });
});

Deno.test("parsePreviousSubnets drops values of the wrong family or that do not parse", () => {
  assert.deepEqual(
    show(parsePreviousSubnets(
      "FLANNEL_NETWORK=fc00::/48\nFLANNEL_SUBNET=10.42.10.1\nFLANNEL_IPV6_NETWORK=10.0.0.0/8\nFLANNEL_IPV6_SUBNET=\n",
    )),
    {},
  );
  assert.deepEqual(show(parsePreviousSubnets("")), {});
  assert.deepEqual(show(parsePreviousSubnets("FLANNEL_SUBNET")), {});
});

Deno.test("parsePreviousSubnets never throws (fuzz)", () => {
  const line = fc.oneof(
    fc.string(),
    fc.tuple(
      fc.constantFrom(
        "FLANNEL_SUBNET",
        "FLANNEL_NETWORK",
        "FLANNEL_IPV6_SUBNET",
        "export FLANNEL_SUBNET",
        "#",
      ),
      fc.constantFrom("=", ":", " = ", '="', "='"),
      fc.oneof(fc.constantFrom("10.1.2.1/24", "fc00::1/64", "10.1.2.1/24,10.1.3.1/24"), fc.string()),
    ).map((parts) => parts.join("")),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 8 }), fc.constantFrom("\n", "\r\n", "\r"), (lines, nl) => {
      const p = parsePreviousSubnets(lines.join(nl));
      for (const [k, v] of Object.entries(p)) assert.equal(v.addr.family, k.startsWith("ipv6") ? 6 : 4);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("writeSubnetFile writes atomically with mode 0644 and creates the parent directory", async () => {
  const root = await Deno.makeTempDir({ prefix: "subnet_file_test" });
  try {
    const path = `${root}/run/flannel/subnet.env`;
    const prevUmask = Deno.umask(0o077);
    try {
      await writeSubnetFile(path, "FLANNEL_MTU=1450\n");
    } finally {
      Deno.umask(prevUmask);
    }
    assert.equal(await Deno.readTextFile(path), "FLANNEL_MTU=1450\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644, "exactly 0644 despite umask 077");
    assert.ok((await Deno.stat(`${root}/run/flannel`)).isDirectory);
    // Replacing keeps the mode, leaves no temporary files behind, and replaces the inode (rename, not rewrite).
    const before = (await Deno.stat(path)).ino;
    await Deno.chmod(path, 0o600);
    await writeSubnetFile(path, "FLANNEL_MTU=1400\n");
    assert.equal(await Deno.readTextFile(path), "FLANNEL_MTU=1400\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
    assert.notEqual((await Deno.stat(path)).ino, before);
    const names = [];
    for await (const e of Deno.readDir(`${root}/run/flannel`)) names.push(e.name);
    assert.deepEqual(names, ["subnet.env"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeSubnetFile leaves the old file and no temporary file when the rename fails", async () => {
  const root = await Deno.makeTempDir({ prefix: "subnet_file_test" });
  try {
    // The target is a non-empty directory: rename(2) fails after the temporary file was written.
    await Deno.mkdir(`${root}/subnet.env/x`, { recursive: true });
    await assert.rejects(() => writeSubnetFile(`${root}/subnet.env`, "x"));
    const names = [];
    for await (const e of Deno.readDir(root)) names.push(e.name);
    assert.deepEqual(names, ["subnet.env"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readPreviousSubnets: a missing file is {}, an existing one is parsed", async () => {
  const root = await Deno.makeTempDir({ prefix: "subnet_file_test" });
  try {
    assert.deepEqual(await readPreviousSubnets(`${root}/missing/subnet.env`), {});
    await writeSubnetFile(`${root}/subnet.env`, "FLANNEL_SUBNET=10.42.10.1/24\n");
    assert.deepEqual(show(await readPreviousSubnets(`${root}/subnet.env`)), { subnet: "10.42.10.0/24" });
    // Other errors are the caller's to log (upstream logs and carries on without a previous subnet).
    await assert.rejects(() => readPreviousSubnets(root));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
