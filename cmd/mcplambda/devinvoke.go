package main

import "net"

// setSelfInvoke puts in the function's environment, before --env (which
// wins), what lets its AWS SDK invoke functions through dev's own Invoke
// API at ln's address: AWS_ENDPOINT_URL_LAMBDA, and local credentials
// (the Invoke API checks no signature; lambdatest sets the region). A
// function that runs its tasks in invocations of their own (package
// tasks/lambdaexec) so invokes itself, asynchronously, as it would in
// Lambda, and the run lands on whichever instance is free. The instances
// inherit nothing else from dev's environment.
func (cfg *devConfig) setSelfInvoke(ln net.Addr) {
	cfg.env = append([]string{
		"AWS_ENDPOINT_URL_LAMBDA=http://" + displayAddr(ln),
		"AWS_ACCESS_KEY_ID=mcplambda-dev",
		"AWS_SECRET_ACCESS_KEY=mcplambda-dev",
		"AWS_EC2_METADATA_DISABLED=true",
	}, cfg.env...)
}
