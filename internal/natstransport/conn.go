package natstransport

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/nats-io/nats.go"
)

// Conn is one process's connection to a run's server.
type Conn struct {
	nc *nats.Conn
}

// Connect connects to the server creds name. closed is called once when
// the connection is gone for good: the server stopped or cannot be
// reached. There is no reconnection: a run's server lives as long as its
// scheduler.
func Connect(creds Credentials, name string, closed func()) (*Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.NoReconnect(),
		nats.ClosedHandler(func(*nats.Conn) {
			if closed != nil {
				closed()
			}
		}),
	}
	if creds.User != "" {
		opts = append(opts, nats.UserInfo(creds.User, creds.Pass))
	}
	if creds.Creds != "" {
		opts = append(opts, nats.UserCredentials(creds.Creds))
	}
	if creds.NKey != "" {
		o, err := nats.NkeyOptionFromSeed(creds.NKey)
		if err != nil {
			return nil, fmt.Errorf("dagr: the nkey seed file %s: %w", creds.NKey, err)
		}
		opts = append(opts, o)
	}
	if creds.CA != "" {
		opts = append(opts, nats.RootCAs(creds.CA))
	}
	if creds.Pin != "" {
		cfg, err := pinned(creds.Pin)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(cfg))
	}
	nc, err := nats.Connect(creds.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("dagr: connecting to %s: %w", redacted(creds.URL), err)
	}
	return &Conn{nc: nc}, nil
}

// redacted returns urls (comma-separated) without their passwords.
func redacted(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil {
			parts[i] = u.Redacted()
		} else {
			parts[i] = "(a URL that does not parse)"
		}
	}
	return strings.Join(parts, ",")
}

// Publish sends data on subject.
func (c *Conn) Publish(subject string, data []byte) error {
	return c.nc.Publish(subject, data)
}

// Request sends data on subject and returns the reply.
func (c *Conn) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	m, err := c.nc.RequestWithContext(ctx, subject, data)
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

// NoResponders reports whether err is that of a request that nobody
// listened to.
func NoResponders(err error) bool { return errors.Is(err, nats.ErrNoResponders) }

// Msg is a message received: Respond answers a request.
type Msg struct {
	Data []byte
	m    *nats.Msg
}

// Respond answers the request m is.
func (m Msg) Respond(data []byte) error { return m.m.Respond(data) }

// Subscribe calls handle with each message on subject, one at a time, in
// order, until unsubscribe is called.
func (c *Conn) Subscribe(subject string, handle func(Msg)) (unsubscribe func() error, _ error) {
	sub, err := c.nc.Subscribe(subject, func(m *nats.Msg) { handle(Msg{Data: m.Data, m: m}) })
	if err != nil {
		return nil, fmt.Errorf("dagr: subscribing to %s: %w", subject, err)
	}
	// Results may be large and come faster than one handler takes them.
	_ = sub.SetPendingLimits(-1, -1)
	return sub.Unsubscribe, nil
}

// Flush waits until the server has every message published so far.
func (c *Conn) Flush() error { return c.nc.Flush() }

// Close sends what is pending and closes the connection.
func (c *Conn) Close() {
	_ = c.nc.Flush()
	c.nc.Close()
}
