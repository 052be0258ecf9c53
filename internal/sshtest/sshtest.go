// Package sshtest starts an OpenSSH server on the loopback interface for
// tests of mp run -S: its own host key and user key in a temporary
// directory, a free port, logins as the user running the test. OpenSSH is
// installed with apt-get when missing (the test skips, saying why, only
// when that fails).
package sshtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mp-go/mp/internal/proc"
)

// Server is a running sshd on 127.0.0.1.
type Server struct {
	Port int
	Key  string // the user's private key
	// SSH is the ssh command that logs into it (give it the host
	// 127.0.0.1): port, key, no host key checks, no user config.
	SSH string
}

var installMu sync.Mutex

// Install makes sure the programs are in $PATH (or at their absolute
// path), installing the Debian packages with apt-get when one is not;
// it skips the test with the reason when they cannot be had.
func Install(t testing.TB, programs []string, packages ...string) {
	t.Helper()
	missing := func() []string {
		var m []string
		for _, p := range programs {
			if _, err := exec.LookPath(p); err != nil {
				m = append(m, p)
			}
		}
		return m
	}
	installMu.Lock()
	defer installMu.Unlock()
	if len(missing()) == 0 {
		return
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skipf("%v not installed and no apt-get to install %v: install them to run this test", missing(), packages)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lock := []string{"-o", "DPkg::Lock::Timeout=120"}
	install := append(append([]string{"install", "-y", "-q"}, lock...), packages...)
	out, err := exec.CommandContext(ctx, "apt-get", install...).CombinedOutput()
	if err != nil {
		// the package lists may be missing: update them once and retry
		if up, uerr := exec.CommandContext(ctx, "apt-get", append([]string{"update", "-q"}, lock...)...).CombinedOutput(); uerr != nil {
			t.Skipf("%v not installed and apt-get update failed (%v): %s", missing(), uerr, tail(up))
		}
		out, err = exec.CommandContext(ctx, "apt-get", install...).CombinedOutput()
	}
	if m := missing(); err != nil || len(m) > 0 {
		t.Skipf("%v not installed: apt-get install %v failed (%v): %s", m, packages, err, tail(out))
	}
}

func tail(b []byte) string {
	if len(b) > 500 {
		b = b[len(b)-500:]
	}
	return string(b)
}

// Start starts an sshd on a free port of 127.0.0.1 and waits until ssh
// can log in (commands run in the test user's login shell). The server
// is killed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	Install(t, []string{"/usr/sbin/sshd", "ssh", "ssh-keygen"}, "openssh-server", "openssh-client")
	dir := t.TempDir()
	hostKey, userKey := filepath.Join(dir, "host_key"), filepath.Join(dir, "user_key")
	for _, k := range []string{hostKey, userKey} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, err := os.ReadFile(userKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory
	}
	for attempt := 1; ; attempt++ {
		port := freePort(t)
		conf := filepath.Join(dir, "sshd_config")
		text := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
StrictModes no
PermitRootLogin yes
PasswordAuthentication no
UsePAM no
PidFile none
MaxStartups 200
MaxSessions 200
LogLevel ERROR
`, port, hostKey, auth)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", conf)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		proc.Configure(cmd) // its own process group; on Linux it dies with the test
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting sshd: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			proc.KillGroup(cmd.Process.Pid)
			<-exited
		}
		s := &Server{Port: port, Key: userKey}
		s.SSH = strings.Join([]string{"ssh", "-F", "/dev/null", "-p", strconv.Itoa(port), "-i", userKey,
			"-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=60"}, " ")
		err := s.waitUp(exited)
		if err == nil {
			t.Cleanup(stop)
			return s
		}
		stop()
		if attempt == 3 {
			t.Fatalf("sshd on 127.0.0.1:%d does not let ssh in: %v; sshd said: %s", port, err, errb.String())
		}
	}
}

// waitUp waits until ssh logs in, for at most a minute.
func (s *Server) waitUp(exited <-chan struct{}) error {
	deadline := time.Now().Add(time.Minute)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("sshd exited (%v)", last)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, "sh", "-c", s.SSH+" 127.0.0.1 echo up").CombinedOutput()
		cancel()
		if err == nil && strings.TrimSpace(string(out)) == "up" {
			return nil
		}
		last = fmt.Errorf("%v: %s", err, out)
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("no login within a minute: %v", last)
}

// freePort is a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
