// Package browsertest gives tests a headless Chromium to drive with
// chromedp: Debian's chromium package, installed by the test itself
// (apt-get) where it is missing and the test may install it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireEnv, set to 1 (as .ci/run does), makes a missing browser a
// failure instead of a skip.
const RequireEnv = "MP_REQUIRE_BROWSER"

var install struct {
	sync.Once
	path string
	out  []byte
	err  error
}

// Chromium returns the path of a chromium binary, installing Debian's
// package once per test binary when it is missing and this process is
// root with apt-get. Without one the test is skipped, or fails under
// RequireEnv.
func Chromium(t testing.TB) string {
	t.Helper()
	install.Do(func() {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				install.path = p
				return
			}
		}
		if os.Geteuid() != 0 {
			install.err = exec.ErrNotFound
			return
		}
		if _, err := exec.LookPath("apt-get"); err != nil {
			install.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "chromium"}} {
			cmd := exec.CommandContext(ctx, "apt-get", args...)
			cmd.Env = env
			if install.out, install.err = cmd.CombinedOutput(); install.err != nil {
				return
			}
		}
		install.path, install.err = exec.LookPath("chromium")
	})
	if install.path == "" {
		msg := "no chromium, and it could not be installed (apt-get install -y chromium): %v\n%s"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf(msg, install.err, install.out)
		}
		t.Skipf(msg, install.err, install.out)
	}
	return install.path
}

// New starts a headless browser for the test and returns its context;
// the browser stops when the test ends.
func New(t testing.TB) context.Context {
	t.Helper()
	path := Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in a container has no user namespaces for the sandbox
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelB()
		cancelA()
	})
	// The first Run starts the browser, for as long as its context
	// lives: no timeout on that context, so the bound is kept here.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting chromium (%s): %v", path, err)
		}
	case <-time.After(time.Minute):
		cancelB()
		t.Fatalf("chromium (%s) did not start in a minute", path)
	}
	return ctx
}
