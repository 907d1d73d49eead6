// Test tool, not part of flannel-lab: containerlab v0.79.0, built by harness/tools (`tools install
// containerlab`) from the Go module proxy. At install time the module is copied out of the module cache into
// .tools/, tools/patches/containerlab-v0.79.0-proc-modules.patch is applied to the copy, and a `replace` to the
// copy is added to a copy of this file; nothing of containerlab is kept in this repository.
module flannel-lab.local/tools/containerlab

go 1.26.0

require github.com/srl-labs/containerlab v0.79.0
