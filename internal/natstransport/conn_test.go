package natstransport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// An existing NATS server that authenticates with nkeys: a client with the
// seed file connects, one with another seed or none does not, and the
// error names the server without its password.
func TestConnectWithNKey(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	seed, _ := user.Seed()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		Nkeys: []*server.NkeyUser{{Nkey: pub}}})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("the server did not start")
	}
	dir := t.TempDir()
	seedFile := filepath.Join(dir, "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	conn, err := Connect(Credentials{URL: srv.ClientURL(), NKey: seedFile}, "t", nil)
	if err != nil {
		t.Fatalf("with the nkey seed: %v", err)
	}
	conn.Close()

	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	otherFile := filepath.Join(dir, "other.nk")
	if err := os.WriteFile(otherFile, otherSeed, 0o600); err != nil {
		t.Fatal(err)
	}
	withPassword := strings.Replace(srv.ClientURL(), "nats://", "nats://someone:secret-password@", 1)
	for what, creds := range map[string]Credentials{
		"another seed": {URL: srv.ClientURL(), NKey: otherFile},
		"a password":   {URL: withPassword},
	} {
		conn, err := Connect(creds, "t", nil)
		if err == nil {
			conn.Close()
			t.Fatalf("a client with %s connected", what)
		}
		if strings.Contains(err.Error(), "secret-password") {
			t.Fatalf("the error shows the password: %v", err)
		}
	}
	if _, err := Connect(Credentials{URL: srv.ClientURL(), NKey: filepath.Join(dir, "missing.nk")}, "t", nil); err == nil || !strings.Contains(err.Error(), "missing.nk") {
		t.Fatalf("a missing seed file: %v", err)
	}
}
