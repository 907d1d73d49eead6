import assert from "node:assert/strict";
import { parse, usageError } from "./_testing.ts";

Deno.test("a boolean flag takes the forms of Go's strconv.ParseBool", () => {
  for (
    const [text, want] of [
      ["1", true],
      ["t", true],
      ["T", true],
      ["TRUE", true],
      ["True", true],
      ["0", false],
      [
        "f",
        false,
      ],
      ["F", false],
      ["FALSE", false],
      ["False", false],
    ] as const
  ) {
    assert.equal(parse([`-ip-masq=${text}`]).ipMasq, want, text);
  }
  usageError(["-ip-masq=yes"], {}, /Invalid value "yes" for flag -ip-masq: must be true or false/);
  usageError(["-ip-masq=tRuE"], {}, /Invalid value "tRuE"/);
});

Deno.test("parseAgentFlags reads integers like Go's strconv.ParseInt(s, 0, 64)", () => {
  assert.equal(parse(["-healthz-port=0x1f90"]).healthzPort, 8080);
  assert.equal(parse(["-healthz-port=017"]).healthzPort, 15, "a leading 0 means octal");
  assert.equal(parse(["-healthz-port=0o17"]).healthzPort, 15);
  assert.equal(parse(["-healthz-port=0b101"]).healthzPort, 5);
  assert.equal(parse(["-healthz-port=8_080"]).healthzPort, 8080, "underscores between digits");
  assert.equal(parse(["-iptables-resync=+7"]).iptablesResync, 7);
  usageError(["-healthz-port=80a"], {}, /Invalid value "80a" for flag -healthz-port: not an integer/);
  usageError(["-healthz-port=089"], {}, /not an integer/);
  usageError(["-healthz-port="], {}, /not an integer/);
  usageError(["-healthz-port= 80"], {}, /not an integer/);
});

Deno.test("parseAgentFlags checks klog's -v, -vmodule and -log_backtrace_at like klog", () => {
  assert.equal(parse(["-v", "10"]).v, 10);
  usageError(["-v=0x1"], {}, /for flag -v/); // klog parses base 10
  usageError(["-v=2147483648"], {}, /for flag -v/);
  assert.equal(parse(["-vmodule=a=1,,b*=0,"]).vmodule, "a=1,,b*=0,");
  usageError(["-vmodule=a"], {}, /pattern=N/);
  usageError(["-vmodule==1"], {}, /pattern=N/);
  usageError(["-vmodule=a=x"], {}, /pattern=N/);
  usageError(["-vmodule=a=-1"], {}, /negative/);
  assert.equal(parse(["-log_backtrace_at="]).logBacktraceAt, "");
  assert.equal(parse(["-log_backtrace_at=gc.go:123"]).logBacktraceAt, "gc.go:123");
  usageError(["-log_backtrace_at=gc:123"], {}, /file:N/);
  usageError(["-log_backtrace_at=gc.go:0"], {}, /positive/);
  usageError(["-log_backtrace_at=gc.go:1:2"], {}, /file:N/);
});
