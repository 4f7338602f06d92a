// Package natstransport carries a dagr run's messages over NATS: it embeds
// a nats-server for the run, or reaches an existing NATS cluster, and
// connects the run's processes to it. It is the only package that imports
// nats-server and nats.go.
package natstransport

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// MaxPayload is the largest message the embedded server accepts.
const MaxPayload = 64 << 20

// Credentials are what a process needs to reach a run's server: its URL
// (or several, comma-separated) and the means to authenticate, which may
// be a user and password, a credentials file (JWT and nkey seed), or an
// nkey seed file; and for TLS, a CA file to verify the server with, or
// the SHA-256 fingerprint of its certificate, which is then pinned.
type Credentials struct {
	URL   string `json:"url"`
	User  string `json:"user,omitempty"`
	Pass  string `json:"pass,omitempty"`
	Creds string `json:"creds,omitempty"` // a .creds file
	NKey  string `json:"nkey,omitempty"`  // a file holding an nkey seed
	CA    string `json:"ca,omitempty"`    // a PEM file of the CAs that sign the servers' certificates
	Pin   string `json:"pin,omitempty"`   // hex SHA-256 of the server's certificate (DER)
}

// Server is an embedded nats-server that serves one run, and accepts only
// the run's own credentials.
type Server struct {
	srv   *server.Server
	creds Credentials
	sys   Credentials // of the system account's user, which sees the connections come and go
}

// ServerConfig says where an embedded server listens.
type ServerConfig struct {
	// Listen is host:port; empty: 127.0.0.1 on a port the system picks,
	// without TLS. Otherwise every client must use TLS.
	Listen string
	// CertFile and KeyFile are the server's certificate and key (PEM);
	// empty: a certificate made for this server, which clients pin.
	CertFile, KeyFile string
}

// StartServer starts a server with a user and password made for this run.
func StartServer(cfg ServerConfig) (*Server, error) {
	user, pass := "dagr-"+randomHex(8), randomHex(24)
	sysUser, sysPass := "dagr-sys-"+randomHex(8), randomHex(24)
	// The run's processes are in an account of their own; worker 1 also
	// connects as the system account's user, to learn of disconnections.
	run, sys := server.NewAccount(runAccount), server.NewAccount("SYS")
	opts := &server.Options{
		ServerName:    "dagr-" + randomHex(4),
		Host:          "127.0.0.1",
		Port:          server.RANDOM_PORT,
		Accounts:      []*server.Account{run, sys},
		SystemAccount: "SYS",
		Users: []*server.User{
			{Username: user, Password: pass, Account: run},
			{Username: sysUser, Password: sysPass, Account: sys},
		},
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: MaxPayload,
		// A worker's pending messages may hold large results.
		MaxPending: 4 * MaxPayload,
	}
	creds := Credentials{User: user, Pass: pass}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("dagr: the address to listen on, %q: %w", cfg.Listen, err)
		}
		if opts.Port, err = strconv.Atoi(port); err != nil || opts.Port < 0 || opts.Port > 65535 {
			return nil, fmt.Errorf("dagr: the address to listen on, %q, has no port number", cfg.Listen)
		}
		if opts.Port == 0 {
			opts.Port = server.RANDOM_PORT
		}
		opts.Host = host
		cert, pin, err := serverCert(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, err
		}
		opts.TLS = true
		opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		opts.TLSTimeout = 5
		creds.Pin = pin
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("dagr: starting the embedded NATS server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("dagr: the embedded NATS server did not accept connections within 10s")
	}
	creds.URL = srv.ClientURL()
	if opts.TLS {
		creds.URL = "tls://" + srv.Addr().String()
		if h := opts.Host; h != "" && !net.ParseIP(h).IsUnspecified() {
			creds.URL = "tls://" + net.JoinHostPort(h, strconv.Itoa(srv.Addr().(*net.TCPAddr).Port))
		}
	}
	sysCreds := creds
	sysCreds.User, sysCreds.Pass = sysUser, sysPass
	return &Server{srv: srv, creds: creds, sys: sysCreds}, nil
}

// runAccount is the account of a run's processes on its embedded server.
const runAccount = "DAGR"

// OnDisconnect calls closed with the name of each client of the run that
// disconnects from the server (see Connect), one at a time, until stop is
// called.
func (s *Server) OnDisconnect(closed func(name string)) (stop func(), _ error) {
	conn, err := Connect(s.sys, "dagr events", nil)
	if err != nil {
		return nil, err
	}
	_, err = conn.Subscribe(fmt.Sprintf("$SYS.ACCOUNT.%s.DISCONNECT", runAccount), func(m Msg) {
		var ev server.DisconnectEventMsg
		if json.Unmarshal(m.Data, &ev) == nil {
			closed(ev.Client.Name)
		}
	})
	if err == nil {
		err = conn.Flush()
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn.Close, nil
}

// Credentials returns the URL, user and password of the server, and the
// fingerprint of its certificate when it uses TLS.
func (s *Server) Credentials() Credentials { return s.creds }

// Shutdown stops the server and waits until it has.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// NewRunID returns a fresh id for a run: the last token of its subjects'
// prefix.
func NewRunID() string { return randomHex(8) }

// NewSecret returns a fresh secret for a run.
func NewSecret() string { return randomHex(24) }
