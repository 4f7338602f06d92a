// Package natstransport carries a dagr run's messages over NATS: it embeds
// a nats-server for the run and connects its processes to it. It is the
// only package that imports nats-server and nats.go.
package natstransport

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// MaxPayload is the largest message the embedded server accepts.
const MaxPayload = 64 << 20

// Credentials are what a process needs to reach a run's server.
type Credentials struct {
	URL  string
	User string
	Pass string
}

// Server is an embedded nats-server that serves one run, on loopback, and
// accepts only the run's own credentials.
type Server struct {
	srv   *server.Server
	creds Credentials
}

// StartServer starts a server on 127.0.0.1, on a port the system picks,
// with a user and password made for this run.
func StartServer() (*Server, error) {
	user, pass := "dagr-"+randomHex(8), randomHex(24)
	opts := &server.Options{
		ServerName: "dagr-" + randomHex(4),
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		Username:   user,
		Password:   pass,
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: MaxPayload,
		// A worker's pending messages may hold large results.
		MaxPending: 4 * MaxPayload,
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
	return &Server{srv: srv, creds: Credentials{URL: srv.ClientURL(), User: user, Pass: pass}}, nil
}

// Credentials returns the URL, user and password of the server.
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
