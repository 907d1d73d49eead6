import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { debianMirror, parseAptSources } from "./apt_sources.ts";

const DEB822 = `Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`;

Deno.test("debianMirror finds the deb822 entry that serves the suite's main component", () => {
  assertEquals(
    debianMirror([{ path: "/etc/apt/sources.list.d/debian.sources", text: DEB822 }], "bookworm"),
    "http://mirror.example/debian",
  );
  assertEquals(
    debianMirror([{ path: "/etc/apt/sources.list.d/debian.sources", text: DEB822 }], "bookworm-security"),
    "http://mirror.example/debian-security",
  );
});

Deno.test("debianMirror reads one-line lists, skipping deb-src, comments and options", () => {
  const text = [
    "# deb http://old.example/debian bookworm main",
    "deb-src http://src.example/debian bookworm main",
    "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian/ bookworm main contrib",
  ].join("\n");
  assertEquals(
    debianMirror([{ path: "/etc/apt/sources.list", text }], "bookworm"),
    "http://one.example/debian",
  );
});

Deno.test("debianMirror ignores disabled entries, other suites, non-main components and other file names", () => {
  const disabled = DEB822.replace("Types: deb\n#", "Types: deb\nEnabled: no\n#");
  const files = [
    { path: "/etc/apt/sources.list.d/debian.sources", text: disabled },
    { path: "/etc/apt/sources.list.d/x.list.disabled", text: "deb http://x.example/debian bookworm main" },
    { path: "/etc/apt/sources.list.d/y.list", text: "deb http://y.example/debian bookworm contrib" },
    { path: "/etc/apt/sources.list.d/z.list", text: "deb http://z.example/debian trixie main" },
  ];
  assertEquals(debianMirror(files, "bookworm"), undefined);
  assertEquals(parseAptSources(files).map((s) => s.uri), [
    "http://mirror.example/debian-security",
    "http://y.example/debian",
    "http://z.example/debian",
  ]);
});
