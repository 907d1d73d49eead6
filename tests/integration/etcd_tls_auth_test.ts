/**
 * The etcd registry over TLS with client certificates, and with etcd v3 username/password auth.
 * The test makes its own CA and certificates with openssl.
 */
import assert from "node:assert/strict";
import { EtcdRegistry } from "../../agent/subnet/etcd_registry.ts";
import { startEtcd } from "../../harness/etcd.ts";
import { run } from "../../cli/process/mod.ts";
import { tempDir } from "../helpers/tmpdir.ts";

const PREFIX = "/coreos.com/network";

async function makePki(dir: string): Promise<void> {
  const ssl = (args: string[]) => run(["openssl", ...args], { cwd: dir });
  await ssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=flannel-lab test CA",
  ]);
  for (
    const [name, ext] of [["server", "subjectAltName=IP:127.0.0.1"], [
      "client",
      "extendedKeyUsage=clientAuth",
    ]]
  ) {
    await ssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    ]);
    await Deno.writeTextFile(`${dir}/${name}.ext`, `${ext}\n`);
    await ssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    ]);
  }
}

Deno.test("etcd registry: TLS with a client certificate reads the config and lists leases", async () => {
  await using dir = await tempDir();
  await makePki(dir.path);
  const d = dir.path;
  await using etcd = await startEtcd({
    tls: { certFile: `${d}/server.crt`, keyFile: `${d}/server.key`, caFile: `${d}/ca.crt` },
  });
  assert.match(etcd.endpoint, /^https:/);
  await etcd.ctl(["put", `${PREFIX}/config`, '{"Network":"10.5.0.0/16"}']);
  await using registry = await EtcdRegistry.connect({
    endpoints: [etcd.endpoint],
    prefix: PREFIX,
    keyFile: `${d}/client.key`,
    certFile: `${d}/client.crt`,
    caFile: `${d}/ca.crt`,
  });
  assert.equal(await registry.getNetworkConfig(), '{"Network":"10.5.0.0/16"}');
  assert.equal((await registry.listLeases()).leases.length, 0);
});

Deno.test("etcd registry: TLS without a client certificate is refused by a server that requires one", async () => {
  await using dir = await tempDir();
  await makePki(dir.path);
  const d = dir.path;
  await using etcd = await startEtcd({
    tls: { certFile: `${d}/server.crt`, keyFile: `${d}/server.key`, caFile: `${d}/ca.crt` },
  });
  await using registry = await EtcdRegistry.connect({
    endpoints: [etcd.endpoint],
    prefix: PREFIX,
    caFile: `${d}/ca.crt`,
    callTimeoutMs: 2000,
  });
  await assert.rejects(registry.getNetworkConfig());
});

Deno.test("etcd registry: username and password use etcd v3 auth; a wrong password fails clearly", async () => {
  await using etcd = await startEtcd();
  await etcd.ctl(["put", `${PREFIX}/config`, '{"Network":"10.5.0.0/16"}']);
  await etcd.ctl(["user", "add", "root", "--new-user-password=s3cret", "--interactive=false"]);
  await etcd.ctl(["auth", "enable"]);
  {
    await using registry = await EtcdRegistry.connect({
      endpoints: [etcd.endpoint],
      prefix: PREFIX,
      username: "root",
      password: "s3cret",
    });
    assert.equal(await registry.getNetworkConfig(), '{"Network":"10.5.0.0/16"}');
  }
  {
    await using registry = await EtcdRegistry.connect({
      endpoints: [etcd.endpoint],
      prefix: PREFIX,
      username: "root",
      password: "wrong",
      callTimeoutMs: 2000,
    });
    await assert.rejects(registry.getNetworkConfig(), /auth|password|invalid/i);
  }
  {
    await using registry = await EtcdRegistry.connect({
      endpoints: [etcd.endpoint],
      prefix: PREFIX,
      callTimeoutMs: 2000,
    });
    await assert.rejects(registry.getNetworkConfig(), /permission|auth|user/i);
  }
});
