// Test tool, not part of flannel-lab: upstream flanneld v0.28.9, built by harness/tools (`tools install
// flanneld`) from the Go module proxy, for interop tests against our agent.
module flannel-lab.local/tools/flanneld

go 1.26.0

require github.com/flannel-io/flannel v0.28.9

// flannel v0.28.9 pins tencentcloud-sdk-go/tencentcloud/vpc v1.3.149, which the module proxy does not serve;
// v1.0.1000 is served and builds (the tencent-vpc backend is never used here).
replace github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc => github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc v1.0.1000
